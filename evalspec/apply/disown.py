"""``evalspec state rm``: stop managing an object without archiving it.

evalspec's marks come off and nothing else changes: the owner tag, the ``evalspec.*`` tags and
metadata, and a question's ``evalspec:<project>/`` name prefix. The next plan no longer sees the
object; if the specs still declare its address, that plan creates a new one beside it.
"""

from __future__ import annotations

from typing import Any

from evalspec.client.sgp import SGPClient
from evalspec.plan.diff import member_ids, user_metadata, user_tags
from evalspec.plan.refresh import Remote, group_metadata


async def disown(client: SGPClient, remote: Remote, project: str) -> None:
    body = remote.body
    tags = user_tags(body.get("tags"), project)
    if remote.kind == "Question":
        await client.rename_question(remote.id, remote.address.split("/", 1)[1])
    elif remote.kind == "Rubric":
        await client.update_rubric(remote.id, {"tags": tags})
    elif remote.kind == "Dataset":
        await client.update_dataset(remote.id, {"tags": tags})
    elif remote.kind == "Evaluation":  # RFC 7396: null removes a key
        marks = {k: None for k in body.get("metadata") or {} if k.startswith("evalspec.")}
        await client.update_evaluation(remote.id, {"tags": tags, "metadata": marks})
    else:  # a group's PATCH merges metadata key by key: PUT the whole group without the marks
        replacement: dict[str, Any] = {
            "name": body.get("name"), "tags": tags,
            "metadata": user_metadata(group_metadata(body)),
            "evaluation_ids": member_ids(body),
            "row_identifiers": {r["evaluation_id"]: r["column_name"]
                                for r in body.get("row_identifiers") or []},
        }
        if body.get("description") is not None:
            replacement["description"] = body["description"]
        await client.replace_group(remote.id, replacement)
