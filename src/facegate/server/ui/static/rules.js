// The rule form's resident picker: typing in "Find a resident" hides the names that do not
// match (ticked ones always stay visible). The list is plain checkboxes: without this script
// it still works, only unfiltered.
document.addEventListener("DOMContentLoaded", () => {
  for (const box of document.querySelectorAll("fieldset.picker")) {
    const filter = box.querySelector(".picker-filter");
    const items = box.querySelectorAll(".picker-list label");
    filter.addEventListener("input", () => {
      const q = filter.value.trim().toLocaleLowerCase();
      for (const item of items) {
        const ticked = item.querySelector("input").checked;
        item.hidden = !!q && !ticked && !item.textContent.toLocaleLowerCase().includes(q);
      }
    });
    // Enter in the search box must not submit the form
    filter.addEventListener("keydown", (ev) => { if (ev.key === "Enter") ev.preventDefault(); });
  }
});
