/* Progressive enhancement only: every page works the same with this file missing. */
(function () {
  "use strict";

  document.documentElement.classList.add("js-enabled");

  // The legend of the question an input belongs to, or its label: what the patient needs to
  // see above the input. A legend far above a text box (more than half a screen) is skipped
  // for the box's own label, as in the GOV.UK error summary.
  function questionHeading(input) {
    var fieldset = input.closest("fieldset");
    if (fieldset) {
      var legend = fieldset.querySelector("legend");
      if (legend) {
        if (input.type === "checkbox" || input.type === "radio") {
          return legend;
        }
        var gap = input.getBoundingClientRect().top - legend.getBoundingClientRect().top;
        if (gap < window.innerHeight / 2) {
          return legend;
        }
      }
    }
    return document.querySelector("label[for='" + input.id + "']") || input.closest("label");
  }

  // Scrolls the question's legend or label to the top of the screen and focuses its input
  // (an input taller than the screen would leave the legend out of view: then the input is
  // scrolled to instead). Gives false for an id that is not a form control.
  function showQuestion(id) {
    var input = id ? document.getElementById(id) : null;
    if (!input || !/^(INPUT|TEXTAREA|SELECT)$/.test(input.tagName)) {
      return false;
    }
    var heading = questionHeading(input);
    var height = heading ? input.getBoundingClientRect().bottom - heading.getBoundingClientRect().top : 0;
    if (heading && height < window.innerHeight) {
      heading.scrollIntoView();
    } else {
      input.scrollIntoView();
    }
    // A radio answer being changed: focus the chosen radio, where the arrow keys start from.
    var chosen = input.type === "radio" && input.form
      ? input.form.querySelector("input[type='radio'][name='" + input.name + "']:checked")
      : null;
    (chosen || input).focus({ preventScroll: true });
    return true;
  }

  // The id a "#..." address names; "" for any other address, or one that does not decode.
  function idOf(fragment) {
    if (fragment.charAt(0) !== "#") {
      return "";
    }
    try {
      return decodeURIComponent(fragment.slice(1));
    } catch (error) {
      return "";
    }
  }

  // Move focus to the error summary so screen readers announce it first. Its links go to the
  // question, with its legend or label in view rather than just the input.
  var summary = document.querySelector("[data-module='error-summary']");
  if (summary) {
    summary.focus();
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a");
      if (link && showQuestion(idOf(link.getAttribute("href") || ""))) {
        event.preventDefault();
      }
    });
  }

  // A page opened at one of its questions (a Change link on "Check your answers" ends in
  // #<question>, or for a radio question in the id of the chosen radio, which the browser
  // focuses without this script too): the same, once the browser has scrolled to the input
  // itself. Not on Back or reload, where the browser puts the page back where the patient
  // left it.
  if (window.location.hash && document.querySelector("form")) {
    window.addEventListener("load", function () {
      var navigation = window.performance && performance.getEntriesByType
        ? performance.getEntriesByType("navigation")[0]
        : null;
      if (navigation && (navigation.type === "back_forward" || navigation.type === "reload")) {
        return;
      }
      var id = idOf(window.location.hash);
      var target = id ? document.getElementById(id) : null;
      if (target && (document.activeElement === target || document.activeElement === document.body)) {
        showQuestion(id);
      }
    });
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
