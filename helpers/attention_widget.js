// Front end of helpers.attention_views: draws one attention view in a notebook output.
// The view's script (d3, jQuery and BertViz, read from installed Python packages) comes from
// the kernel in a message, so it never lands in the saved notebook; the saved widget state
// holds only the markup below and this note.
function render({ model, el }) {
  el.innerHTML = model.get("markup");
  const note = document.createElement("p");
  note.textContent = "Run this cell to draw the attention view: the kernel sends its script.";
  el.appendChild(note);
  let drawn = false;
  const draw = (message) => {
    if (drawn || typeof message.script !== "string") return;
    // BertViz finds its element by id in the page: wait until the output is attached.
    if (!el.isConnected) { requestAnimationFrame(() => draw(message)); return; }
    drawn = true;
    note.remove();
    new Function(message.script)();
  };
  model.on("msg:custom", draw);
  model.send({ request: "script" });
  return () => model.off("msg:custom", draw);
}

export default { render };
