"""After apply: status and results export (status), the comparison report and its statistics
(report, stats, gates, report_render, report_html, report_schema), the results line schema
(results_schema), and human annotations from the v2 Tasks API (tasks_pull, tasks_summary,
tasks_report)."""
