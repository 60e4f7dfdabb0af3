/* Tables that stack into rows on a phone: each cell gets its column's heading as a label (CSS shows it). */
document.querySelectorAll("table.gmi-table--stack").forEach((table) => {
  const headings = Array.from(table.querySelectorAll("thead th")).map((th) => th.textContent.trim());
  table.querySelectorAll("tbody tr").forEach((row) => {
    Array.from(row.children).forEach((cell, index) => {
      if (cell.tagName === "TD" && !cell.hasAttribute("data-label")) { cell.setAttribute("data-label", headings[index] || ""); }
    });
  });
});
