"""Records: one contact in one workflow, with its status and timeline."""
