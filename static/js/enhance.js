/* Progressive enhancement only: every page works the same with this file missing. */
(function () {
  "use strict";

  document.documentElement.classList.add("js-enabled");

  // Move focus to the error summary so screen readers announce it first.
  var summary = document.querySelector("[data-module='error-summary']");
  if (summary) {
    summary.focus();
  }

  // Print buttons stay hidden without JavaScript; the page then says to use the Print command.
  document.querySelectorAll("[data-module='print']").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      window.print();
    });
  });

  // Follow-up questions: shown only while a choice that asks them is selected.
  document.querySelectorAll("[data-reveal-field]").forEach(function (block) {
    var field = block.getAttribute("data-reveal-field");
    var wanted = (block.getAttribute("data-reveal-values") || "").split(" ");
    var form = block.closest("form");
    if (!form) {
      return;
    }
    var inputs = form.querySelectorAll("input[name='" + field + "']");
    function update() {
      // A follow-up with an error message stays in view so the error can be fixed.
      var shown = block.querySelector(".error-message") !== null;
      inputs.forEach(function (input) {
        if (input.checked && wanted.indexOf(input.value) !== -1) {
          shown = true;
        }
      });
      block.classList.toggle("conditional--hidden", !shown);
    }
    inputs.forEach(function (input) {
      if (wanted.indexOf(input.value) !== -1) {
        input.setAttribute("aria-controls", block.id);
      }
      input.addEventListener("change", update);
    });
    update();
  });

  // "None of these" clears the other boxes, and ticking another box clears "None of these".
  document.querySelectorAll("[data-behaviour='exclusive']").forEach(function (exclusive) {
    var form = exclusive.closest("form");
    if (!form) {
      return;
    }
    var others = form.querySelectorAll("input[name='" + exclusive.name + "']");
    exclusive.addEventListener("change", function () {
      if (!exclusive.checked) {
        return;
      }
      others.forEach(function (box) {
        if (box !== exclusive && box.checked) {
          box.checked = false;
          box.dispatchEvent(new Event("change", { bubbles: true }));
        }
      });
    });
    others.forEach(function (box) {
      if (box === exclusive) {
        return;
      }
      box.addEventListener("change", function () {
        if (box.checked && exclusive.checked) {
          exclusive.checked = false;
          exclusive.dispatchEvent(new Event("change", { bubbles: true }));
        }
      });
    });
  });

  // Password boxes: a button shows the typed password and hides it again. The box goes back
  // to a password box before its form is sent, so the browser never keeps it as plain text.
  document.querySelectorAll("[data-module='password-input']").forEach(function (wrapper) {
    var input = wrapper.querySelector("input");
    var toggle = wrapper.querySelector("button");
    var status = wrapper.querySelector("[aria-live]");
    if (!input || !toggle) {
      return;
    }
    function show(visible) {
      input.type = visible ? "text" : "password";
      toggle.textContent = visible ? "Hide" : "Show";
      toggle.setAttribute("aria-label", visible ? "Hide password" : "Show password");
      if (status) {
        status.textContent = visible ? "Your password is visible" : "Your password is hidden";
      }
    }
    toggle.hidden = false;
    toggle.addEventListener("click", function () {
      show(input.type === "password");
    });
    if (input.form) {
      input.form.addEventListener("submit", function () {
        if (input.type !== "password") {
          show(false);
        }
      });
    }
  });
})();
