"""Lists: the records added together by one bulk request, import or named list."""
