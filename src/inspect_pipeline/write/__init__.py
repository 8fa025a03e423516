"""How every workbook the pipeline writes is made: cell values (blank is an empty cell), measured column widths and
row heights, and A4 print set-up that keeps text at 8 pt or more (outputs.md, first paragraph)."""
