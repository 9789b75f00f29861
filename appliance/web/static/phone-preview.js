// Shows, under a phone field, the number as the kiosk understood it, before the form is saved.
"use strict";

(function () {
  document.querySelectorAll("[data-phone-preview]").forEach(function (output) {
    var input = document.getElementById(output.getAttribute("for"));
    if (!input) return;
    var timer = null;
    var asked = 0;

    function show(text, isError) {
      output.textContent = text;
      output.classList.toggle("error-text", isError);
    }

    function ask() {
      var typed = input.value.trim();
      var mine = ++asked;
      if (!typed) return show("", false);
      fetch("/api/phone-preview?phone=" + encodeURIComponent(typed), { credentials: "same-origin" })
        .then(function (response) {
          return response.json().then(function (body) { return { ok: response.ok, body: body }; });
        })
        .then(function (answer) {
          if (mine !== asked) return; // a newer keystroke's answer wins
          if (answer.ok) show(output.dataset.savedAs + " " + answer.body.shown, false);
          else show(answer.body.error || "", true);
        })
        .catch(function () { /* offline: the server still checks the number on save */ });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(ask, 300);
    });
    ask();
  });
})();
