"""The rater's sheet as one self-contained HTML form (inline script, no network)
that saves the ratings as a CSV."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ReviewItem:
    item: str
    suite_id: str
    case_id: str
    prompt: str
    left: str
    right: str
    left_is: str  # "A" or "B"


_FORM = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>finegate review __SHEET__</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:1rem;color:#222}
header{position:sticky;top:0;background:#fff;padding:.5rem 0;border-bottom:1px solid #ccc}
.item{border:1px solid #ccc;border-radius:6px;margin:1rem 0;padding:.75rem}
.item.done{border-color:#3a7}
.prompt{white-space:pre-wrap;background:#f5f5f5;padding:.5rem;border-radius:4px}
.answers{display:grid;grid-template-columns:1fr 1fr;gap:.75rem;margin:.5rem 0}
.answer{white-space:pre-wrap;border:1px solid #ddd;padding:.5rem;border-radius:4px}
.choice label{margin-right:1.25rem}
textarea{width:100%;min-height:2.2rem}
</style></head><body>
<header><h1 style="font-size:1.2rem;margin:0">Which answer is better? (sheet __SHEET__)</h1>
<p style="margin:.3rem 0">Read the question and both answers; pick the better one, or tie.
The answers come from two systems in a random order. Nothing leaves this page: the ratings
are saved as a CSV file that you send back.</p>
<label>Your name or initials: <input id="rater" autocomplete="off"></label>
<button id="save" type="button">Save ratings (CSV)</button>
<span id="progress"></span></header>
<main id="items"></main>
<script type="application/json" id="data">__DATA__</script>
<script>
(function(){
  var data = JSON.parse(document.getElementById("data").textContent);
  var store = "finegate-review-" + data.sheet;
  var saved = {};
  try { saved = JSON.parse(localStorage.getItem(store) || "{}"); } catch (e) { saved = {}; }
  var main = document.getElementById("items");
  function el(tag, cls, text){ var e = document.createElement(tag);
    if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; }
  data.items.forEach(function(it){
    var box = el("section", "item"); box.id = "item-" + it.item;
    box.appendChild(el("h2", null, "Item " + it.item)).style.fontSize = "1rem";
    box.appendChild(el("div", "prompt", it.prompt));
    var answers = el("div", "answers");
    [["Left", it.left], ["Right", it.right]].forEach(function(side){
      var a = el("div", "answer");
      a.appendChild(el("strong", null, side[0]));
      a.appendChild(el("div", null, side[1]));
      answers.appendChild(a);
    });
    box.appendChild(answers);
    var choice = el("div", "choice");
    ["left", "tie", "right"].forEach(function(v){
      var lab = el("label"); var input = document.createElement("input");
      input.type = "radio"; input.name = "rating-" + it.item; input.value = v;
      if (saved[it.item] && saved[it.item].rating === v) input.checked = true;
      input.addEventListener("change", remember);
      var words = {left: "Left is better", tie: "Tie", right: "Right is better"}[v];
      lab.appendChild(input); lab.appendChild(document.createTextNode(" " + words));
      choice.appendChild(lab);
    });
    box.appendChild(choice);
    var note = el("textarea");
    note.name = "comment-" + it.item; note.placeholder = "Comment (optional)";
    if (saved[it.item]) note.value = saved[it.item].comment || "";
    note.addEventListener("input", remember);
    box.appendChild(note);
    main.appendChild(box);
  });
  var rater = document.getElementById("rater");
  rater.value = saved.__rater || "";
  rater.addEventListener("input", remember);
  function collect(){
    var out = {__rater: rater.value.trim()};
    data.items.forEach(function(it){
      var picked = document.querySelector('input[name="rating-' + it.item + '"]:checked');
      var comment = document.querySelector('textarea[name="comment-' + it.item + '"]').value;
      out[it.item] = {rating: picked ? picked.value : "", comment: comment};
      document.getElementById("item-" + it.item).className = picked ? "item done" : "item";
    });
    return out;
  }
  function remember(){
    var c = collect();
    try { localStorage.setItem(store, JSON.stringify(c)); } catch (e) {}
    var n = data.items.filter(function(it){ return c[it.item].rating; }).length;
    document.getElementById("progress").textContent = n + " of " + data.items.length + " rated";
  }
  function field(v){
    v = String(v);
    return /[",\\n\\r]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v;
  }
  function toCSV(){
    var c = collect();
    var rows = ["sheet,item,rater,rating,comment"];
    data.items.forEach(function(it){
      var row = [data.sheet, it.item, c.__rater, c[it.item].rating, c[it.item].comment];
      rows.push(row.map(field).join(","));
    });
    return rows.join("\\n") + "\\n";
  }
  document.getElementById("save").addEventListener("click", function(){
    var name = (rater.value.trim() || "rater").replace(/[^A-Za-z0-9_-]+/g, "_");
    var blob = new Blob([toCSV()], {type: "text/csv"});
    var a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = "ratings-" + data.sheet + "-" + name + ".csv";
    document.body.appendChild(a); a.click(); a.remove();
  });
  window.finegateReview = {toCSV: toCSV, collect: collect};
  remember();
})();
</script>
</body></html>
"""


def review_form(sheet: str, items: Sequence[ReviewItem]) -> str:
    """The self-contained rating form: items as inline JSON, no outside resource."""
    data = {
        "sheet": sheet,
        "items": [
            {"item": it.item, "prompt": it.prompt, "left": it.left, "right": it.right}
            for it in items
        ],
    }
    # "</" must not end the script element early; "<!--" must not open a comment
    text = json.dumps(data, ensure_ascii=False).replace("</", "<\\/").replace("<!--", "<\\!--")
    return _FORM.replace("__SHEET__", html.escape(sheet)).replace("__DATA__", text)
