"""The spec pipeline, offline: YAML with locations (yamlload) -> project config and variables
(project) -> source documents checked (schema, explain) -> templates and matrices expanded
(template, matrix) -> file:// contents (fileref) -> typed instances (models) -> checks across
documents and policy (checks) -> the desired state (desired, objects) -> platform bodies and
fingerprints (payloads); output renders validate and render, reference the spec reference."""
