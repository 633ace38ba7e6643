// Taskforce grading keys (/staff/taskforce/grade). Every key drives a control or a form
// that is on the page anyway: without this script the page works the same, by mouse.
(function () {
  "use strict";
  var AGES = ["0-2", "3-6", "7-10", "11-13", "14-15", "16-17"];
  var CATEGORIES = { a: "A", b: "B", c: "C", n: "not_illegal" };
  var SEXES = { g: "girls", o: "boys", t: "both", u: "unidentified" };
  var NON_PHOTO = ["", "drawn", "computer_generated", "ai_generated"];

  function byId(id) { return document.getElementById(id); }

  function submit(form) {
    if (form && !form.dataset.sent) {
      form.dataset.sent = "1"; // one keystroke, one decision
      form.submit();
    }
  }

  function currentMemberForm(kind) {
    var member = document.querySelector("#members li.current");
    return member ? member.querySelector("form." + kind + "-form") : null;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    var target = event.target;
    var typing = target && (target.tagName === "INPUT" && target.type === "text" ||
      target.tagName === "TEXTAREA");
    if (typing) { return; }
    var key = event.key;
    var grade = byId("grade-form");
    var handled = true;
    if (grade && CATEGORIES[key]) {
      byId("category-" + CATEGORIES[key]).checked = true;
    } else if (grade && key >= "1" && key <= "6") {
      byId("age_band").value = AGES[Number(key) - 1];
    } else if (grade && SEXES[key]) {
      byId("sex").value = SEXES[key];
    } else if (grade && key === "s") {
      byId("self_generated").checked = !byId("self_generated").checked;
    } else if (grade && key === "p") {
      var select = byId("non_photographic");
      select.value = NON_PHOTO[(NON_PHOTO.indexOf(select.value) + 1) % NON_PHOTO.length];
    } else if (key === "r") {
      submit(byId("reveal-form"));
    } else if (key === "y") {
      submit(currentMemberForm("confirm"));
    } else if (key === "x") {
      submit(currentMemberForm("split"));
    } else if (key === "z") {
      submit(byId("undo-form"));
    } else if (key === "Enter") {
      if (target && (target.tagName === "BUTTON" || target.tagName === "A")) { return; }
      submit(grade || byId("next-form"));
    } else {
      handled = false;
    }
    if (handled) { event.preventDefault(); }
  });
})();
