"""Reading what schools send: the format of the bytes, the workbook's cells (bounded: sizes, XML content, cell counts), the values' text, dates and counts."""
