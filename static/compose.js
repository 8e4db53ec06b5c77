// The composer, enhanced. Without this file the form still posts everything (files, alt text,
// focal points typed as "x,y"); with it: thumbnails of the chosen files before posting, images
// pasted or dropped into the form, the focal point set by clicking the thumbnail, a counter that
// turns red and disables Post past the limit, Ctrl/⌘+Enter to post, and the question "post
// anyway?" before an image without a description goes out (when that setting is on).
//
// Files are never sent on their own: each one is put into one of the form's own file fields
// (through a DataTransfer), so the same request carries them with or without this script.
"use strict";

(function () {
  const STEP = 0.1; // how far an arrow key moves the focal point

  // The page's words, from the JSON base.html puts in a <meta> (solo/edge/i18n.py): "{name}"
  // stands for a value; a count's message is [one, other], chosen by Intl.PluralRules.
  const MESSAGES = (() => {
    const meta = document.querySelector("meta[name=script-messages]");
    try {
      return meta ? JSON.parse(meta.content) : {};
    } catch (error) {
      return {};
    }
  })();
  const PLURALS = new Intl.PluralRules(document.documentElement.lang || "en");

  function words(key, fallback, values) {
    let text = MESSAGES[key] || fallback;
    if (Array.isArray(text)) text = text[PLURALS.select(values.n) === "one" ? 0 : 1];
    return text.replace(/\{(\w+)\}/g, (whole, name) => (values && name in values ? String(values[name]) : whole));
  }

  function say(form, message) {
    const slot = form.querySelector(".error[role=alert]");
    if (!slot) return;
    slot.textContent = message;
    slot.classList.toggle("hidden", !message);
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  // --- The characters left ---------------------------------------------------------------------

  function length(value) {
    return Array.from(value.trim()).length; // code points, as the server counts them
  }

  function postButton(form) {
    return form.querySelector(".compose-bar button[type=submit]");
  }

  function updateCounter(form) {
    const text = form.querySelector("textarea[data-max]");
    const hint = form.querySelector(".counter");
    if (!text || !hint) return;
    const summary = form.querySelector("input[name=summary]");
    const left = Number(text.dataset.max) - length(text.value) - (summary ? length(summary.value) : 0);
    const over = left < 0;
    hint.textContent = over
      ? words("tooMany", "{n} characters too many", { n: -left })
      : words("left", "{n} characters left", { n: left });
    hint.classList.toggle("over", over);
    text.setAttribute("aria-invalid", over ? "true" : "false");
    const button = postButton(form);
    if (button) button.disabled = over;
  }

  // --- Focal points: a click on the thumbnail, or the arrow keys -------------------------------

  function clamp(value) {
    return Math.max(-1, Math.min(1, Math.round(value * 100) / 100));
  }

  function focusOf(row) {
    const field = row.querySelector(".focus-field");
    const parts = field ? field.value.split(",") : [];
    const x = Number(parts[0]);
    const y = Number(parts[1]);
    return parts.length === 2 && Number.isFinite(x) && Number.isFinite(y) ? [clamp(x), clamp(y)] : [0, 0];
  }

  function setFocus(row, x, y) {
    const field = row.querySelector(".focus-field");
    if (field) field.value = clamp(x) + "," + clamp(y);
    placeDot(row);
  }

  function placeDot(row) {
    const dot = row.querySelector(".focus-dot");
    if (!dot) return;
    const [x, y] = focusOf(row);
    dot.style.left = ((x + 1) / 2) * 100 + "%"; // Mastodon's y points up
    dot.style.top = ((1 - y) / 2) * 100 + "%";
    const picker = row.querySelector(".focus-picker");
    if (picker) picker.title = words("focalPoint", "Focal point {x},{y}", { x, y });
  }

  function picker(row, image, name) {
    const button = element("button", "focus-picker");
    button.type = "button";
    button.setAttribute(
      "aria-label",
      words("focalPointOf", "Focal point of {name}: click the part that must stay in view, or use the arrow keys", { name })
    );
    image.replaceWith(button);
    button.append(image, element("span", "focus-dot"));
    const shape = () => button.classList.toggle("tall", image.naturalHeight > image.naturalWidth);
    if (image.complete) shape();
    else image.addEventListener("load", shape);
    button.addEventListener("click", (event) => {
      if (event.detail === 0) return; // Enter or Space: the arrow keys do the work
      const box = image.getBoundingClientRect();
      if (!box.width || !box.height) return;
      const x = ((event.clientX - box.left) / box.width) * 2 - 1;
      const y = 1 - ((event.clientY - box.top) / box.height) * 2;
      setFocus(row, x, y);
    });
    button.addEventListener("keydown", (event) => {
      const moves = { ArrowLeft: [-STEP, 0], ArrowRight: [STEP, 0], ArrowUp: [0, STEP], ArrowDown: [0, -STEP] };
      const move = moves[event.key];
      if (!move) return;
      event.preventDefault();
      const [x, y] = focusOf(row);
      setFocus(row, x + move[0], y + move[1]);
    });
    placeDot(row);
    return button;
  }

  // --- The file slots ---------------------------------------------------------------------------

  function slots(form) {
    return Array.from(form.querySelectorAll(".attachment-row.new"));
  }

  function fileOf(row) {
    const input = row.querySelector("input[type=file]");
    return input && input.files && input.files.length ? input.files[0] : null;
  }

  function refresh(form) {
    const free = slots(form).some((row) => !row.classList.contains("filled"));
    const zone = form.querySelector(".dropzone");
    if (zone) zone.classList.toggle("hidden", !free);
  }

  function clearSlot(row) {
    const form = row.closest("form");
    const input = row.querySelector("input[type=file]");
    if (input) input.value = "";
    const image = row.querySelector(".thumb img");
    if (image && image.src.startsWith("blob:")) URL.revokeObjectURL(image.src);
    const thumb = row.querySelector(".thumb");
    if (thumb) thumb.replaceChildren();
    row.querySelectorAll(".alt-text, .focus-field").forEach((field) => (field.value = ""));
    row.classList.remove("filled");
    const list = row.parentElement;
    if (list) {
      // Empty slots go last, so the thumbnails keep the order they were added in.
      const zone = list.querySelector(".dropzone");
      list.insertBefore(row, zone);
    }
    if (form) refresh(form);
  }

  function show(row, file) {
    const thumb = row.querySelector(".thumb");
    if (!thumb) return;
    const old = thumb.querySelector("img");
    if (old && old.src.startsWith("blob:")) URL.revokeObjectURL(old.src);
    thumb.replaceChildren();
    if (file.type.startsWith("image/")) {
      const image = element("img");
      image.alt = "";
      image.src = URL.createObjectURL(file);
      thumb.append(image);
      picker(row, image, file.name || words("theImage", "the image"));
      thumb.append(element("p", "focus-hint", words("clickSubject", "Click the subject to keep it in view")));
    } else {
      thumb.append(element("span", "badge file-kind", file.type.split("/")[0] || words("file", "file")));
    }
    thumb.append(element("p", "file-name", file.name));
    row.classList.add("filled");
    const form = row.closest("form");
    if (form) refresh(form);
  }

  function dimensions(file) {
    return new Promise((resolve) => {
      const url = URL.createObjectURL(file);
      const image = new Image();
      const done = (value) => {
        URL.revokeObjectURL(url);
        resolve(value);
      };
      // `load` comes once the header is read; nothing is decoded until painted.
      image.onload = () => done([image.naturalWidth, image.naturalHeight]);
      image.onerror = () => done(null);
      image.src = url;
    });
  }

  // Why `file` cannot be attached, or "" when it can.
  async function problemWith(form, file) {
    const name = file.name || words("pastedFile", "The pasted file");
    const input = form.querySelector(".attachment-row.new input[type=file]");
    const accepted = input ? input.accept.split(",") : [];
    if (!accepted.includes(file.type)) {
      return words(
        "notAccepted",
        "{name} was not attached: only images (JPEG, PNG, GIF, WebP), video (MP4, MOV, WebM)" +
          " and audio (MP3, M4A, Ogg, Opus) can be.",
        { name }
      );
    }
    const maxBytes = Number(form.dataset.maxBytes);
    if (maxBytes && file.size > maxBytes) {
      const mb = (file.size / 1048576).toFixed(1);
      const limit = Math.floor(maxBytes / 1048576);
      return words("tooBig", "{name} is {size} MB; the limit is {limit} MB.", { name, size: mb, limit });
    }
    if (!file.type.startsWith("image/")) return "";
    const size = await dimensions(file);
    if (!size) return words("notImage", "{name} cannot be read as an image.", { name });
    const maxPixels = Number(form.dataset.maxPixels);
    if (maxPixels && size[0] * size[1] > maxPixels) {
      return words(
        "tooManyPixels",
        "{name} is {width}×{height} pixels; the limit is {limit} megapixels (7680×4320).",
        { name, width: size[0], height: size[1], limit: Math.floor(maxPixels / 1e6) }
      );
    }
    return "";
  }

  async function addFiles(form, files) {
    const problems = [];
    let added = 0;
    for (const file of files) {
      const problem = await problemWith(form, file);
      if (problem) {
        problems.push(problem);
        continue;
      }
      const row = slots(form).find((slot) => !slot.classList.contains("filled"));
      if (!row) {
        const name = file.name || words("thisOne", "this one");
        problems.push(words("tooManyFiles", "A post can have at most 4 attachments; {name} was left out.", { name }));
        continue;
      }
      const input = row.querySelector("input[type=file]");
      const transfer = new DataTransfer();
      transfer.items.add(file);
      input.files = transfer.files;
      show(row, file);
      added += 1;
    }
    say(form, problems.join(" "));
    const details = form.querySelector("details.media-field");
    if (details && added) details.open = true;
    const rows = slots(form).filter((row) => row.classList.contains("filled"));
    const last = rows[rows.length - 1];
    if (added && last) {
      const alt = last.querySelector(".alt-text");
      if (alt && !problems.length) alt.focus({ preventScroll: false });
    }
  }

  function hasFiles(event) {
    return !!event.dataTransfer && Array.from(event.dataTransfer.types).includes("Files");
  }

  // --- Images without a description -------------------------------------------------------------

  function undescribed(form) {
    return Array.from(form.querySelectorAll(".attachment-row")).filter((row) => {
      const alt = row.querySelector(".alt-text");
      if (!alt || alt.value.trim()) return false;
      if (row.classList.contains("new")) {
        const file = fileOf(row);
        return !!file && file.type.startsWith("image/");
      }
      const removed = row.querySelector("input[name^=remove_]");
      return row.dataset.kind === "image" && !(removed && removed.checked);
    });
  }

  function confirmed(form) {
    if (form.querySelector("input[type=hidden][name=confirm_no_alt]")) return;
    const field = element("input");
    field.type = "hidden";
    field.name = "confirm_no_alt";
    field.value = "1";
    form.append(field);
  }

  function ask(form, bare) {
    let panel = form.querySelector(".alt-reminder");
    if (!panel) {
      panel = element("div", "alt-reminder");
      panel.setAttribute("role", "alert");
      const actions = element("div", "alt-reminder-actions");
      const anyway = element("button", "secondary", words("postAnyway", "Post anyway"));
      anyway.type = "submit";
      anyway.name = "confirm_no_alt";
      anyway.value = "1";
      const describe = element("button", "link", words("addDescriptions", "Add descriptions"));
      describe.type = "button";
      describe.addEventListener("click", () => {
        const first = undescribed(form)[0];
        panel.remove();
        if (first) first.querySelector(".alt-text").focus();
      });
      actions.append(anyway, describe);
      panel.append(element("p"), actions);
      // After the Post button, which stays the form's default (Enter in a field).
      form.querySelector(".compose-bar").after(panel);
    }
    say(form, "");
    const count = bare.length;
    panel.querySelector("p").textContent = words(
      "noDescription",
      count === 1 ? "{n} image has no description: post anyway?" : "{n} images have no description: post anyway?",
      { n: count }
    );
    panel.querySelector("button[name=confirm_no_alt]").focus();
  }

  function checkBeforeSending(event) {
    const form = event.currentTarget;
    if (!form.hasAttribute("data-alt-reminder")) return;
    if (event.submitter && event.submitter.name === "confirm_no_alt") {
      confirmed(form); // a field, since the in-place request sends the form without its submitter
      return;
    }
    if (form.querySelector("input[type=hidden][name=confirm_no_alt]")) return;
    const bare = undescribed(form);
    if (!bare.length) return;
    event.preventDefault();
    event.stopPropagation(); // the in-place sender listens on the document
    ask(form, bare);
  }

  // --- Putting it together ----------------------------------------------------------------------

  function enhance(form) {
    form.classList.add("enhanced");
    const list = form.querySelector(".attachments");
    if (list) {
      // One list of slots, shown only once filled, then the drop zone.
      const more = list.querySelector("details.more-files");
      if (more) {
        more.querySelectorAll(".attachment-row.new").forEach((row) => list.append(row));
        more.remove();
      }
      const zone = element("div", "dropzone");
      const choose = element("button", "secondary", words("chooseFiles", "Choose files"));
      choose.type = "button";
      const pick = element("input", "hidden");
      pick.type = "file";
      pick.multiple = true;
      const first = list.querySelector(".attachment-row.new input[type=file]");
      pick.accept = first ? first.accept : "image/*";
      pick.setAttribute("aria-label", words("chooseFilesToAttach", "Choose files to attach"));
      choose.addEventListener("click", () => pick.click());
      pick.addEventListener("change", async () => {
        await addFiles(form, Array.from(pick.files || []));
        pick.value = "";
      });
      zone.append(element("span", "", words("dropOrPaste", "Drop or paste images here, or")), choose, pick);
      list.append(zone);
    }
    slots(form).forEach((row) => {
      row.prepend(element("div", "thumb"));
      const remove = element("button", "secondary remove-file", words("remove", "Remove"));
      remove.type = "button";
      remove.addEventListener("click", () => {
        clearSlot(row);
        say(form, "");
      });
      row.querySelector(".attachment-fields").append(remove);
      const input = row.querySelector("input[type=file]");
      input.addEventListener("change", async () => {
        const file = fileOf(row);
        if (!file) {
          clearSlot(row);
          return;
        }
        const problem = await problemWith(form, file);
        if (problem) {
          clearSlot(row);
          say(form, problem);
          return;
        }
        say(form, "");
        show(row, file);
      });
    });
    form.querySelectorAll(".attachment-row.kept").forEach((row) => {
      const image = row.querySelector(".thumb img");
      if (!image) return;
      picker(row, image, words("thisImage", "this image"));
      row.querySelector(".thumb").append(element("p", "focus-hint", words("clickSubject", "Click the subject to keep it in view")));
    });
    refresh(form);

    form.addEventListener("input", () => updateCounter(form));
    updateCounter(form);
    form.addEventListener("keydown", (event) => {
      if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
      event.preventDefault();
      const button = postButton(form);
      if (button && !button.disabled) form.requestSubmit(button);
    });
    form.addEventListener("paste", (event) => {
      const files = event.clipboardData ? Array.from(event.clipboardData.files) : [];
      if (!files.length) return; // text pastes as usual
      event.preventDefault();
      addFiles(form, files);
    });
    form.addEventListener("dragover", (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      form.classList.add("dropping");
    });
    form.addEventListener("dragleave", (event) => {
      if (!form.contains(event.relatedTarget)) form.classList.remove("dropping");
    });
    form.addEventListener("drop", (event) => {
      form.classList.remove("dropping");
      if (!event.dataTransfer || !event.dataTransfer.files.length) return;
      event.preventDefault();
      event.stopPropagation();
      addFiles(form, Array.from(event.dataTransfer.files));
    });
    form.addEventListener("submit", checkBeforeSending);
    form.addEventListener("reset", () => {
      // After the post went out in place: the form empties, so do its thumbnails.
      window.setTimeout(() => {
        slots(form).forEach(clearSlot);
        form.querySelectorAll(".alt-reminder, input[type=hidden][name=confirm_no_alt]").forEach((node) => node.remove());
        say(form, "");
        updateCounter(form);
      }, 0);
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const forms = Array.from(document.querySelectorAll("form.compose"));
    forms.forEach(enhance);
    if (!forms.length) return;
    // A file dropped beside the form is attached too, rather than opened in place of the page.
    document.addEventListener("dragover", (event) => {
      if (hasFiles(event)) event.preventDefault();
    });
    document.addEventListener("drop", (event) => {
      if (!event.dataTransfer || !event.dataTransfer.files.length) return;
      event.preventDefault();
      addFiles(forms[0], Array.from(event.dataTransfer.files));
    });
  });
})();
