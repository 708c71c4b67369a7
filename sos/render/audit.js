"use strict";
// Sorting is the page's only script: each column header of a sortable table becomes a button that sorts its rows,
// numbers largest first and text A to Z on the first click, and says the order in aria-sort.
for (const table of document.querySelectorAll("table.sortable")) {
  const headers = Array.from(table.tHead.rows[0].cells);
  headers.forEach((header, column) => {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = header.textContent;
    header.replaceChildren(button);
    button.addEventListener("click", () => {
      const numeric = header.dataset.type === "number";
      const current = header.getAttribute("aria-sort");
      const ascending = current === "none" ? !numeric : current === "descending";
      sortRows(table, column, numeric, ascending);
      for (const other of headers) other.setAttribute("aria-sort", "none");
      header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    });
  });
}

function sortRows(table, column, numeric, ascending) {
  const body = table.tBodies[0];
  const key = (row) => {
    const cell = row.cells[column];
    const value = cell.dataset.sort ?? cell.textContent.trim();
    if (!numeric) return value;
    return value === "" ? -Infinity : Number(value);
  };
  const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });
  const rows = Array.from(body.rows).map((row, index) => ({ row, index, key: key(row) }));
  rows.sort((a, b) => {
    const order = numeric ? (a.key > b.key) - (a.key < b.key) : collator.compare(a.key, b.key);
    return (ascending ? order : -order) || a.index - b.index;
  });
  body.append(...rows.map((entry) => entry.row));
}
