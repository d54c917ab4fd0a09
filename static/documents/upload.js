// Document upload: each chosen file gets its own title, date and type, then is sent as
// its own request with a progress bar. Without this script the form posts one file.
(function () {
  "use strict";
  document.querySelectorAll("form[data-upload]").forEach(function (form) {
    var t = JSON.parse(form.getAttribute("data-i18n"));
    var maxBytes = parseInt(form.getAttribute("data-max-bytes"), 10);
    var today = form.getAttribute("data-today");
    var queue = form.querySelector("[data-queue]");
    var single = form.querySelector("[data-single-fields]");
    var fileInput = form.querySelector("input[name=file]");
    var camera = form.querySelector("[data-camera]");
    var errorEl = form.querySelector("[data-upload-error]");
    var kindSelect = single.querySelector("select[name=kind]");
    var button = form.querySelector("button[type=submit]");
    var items = [];
    var counter = 0;

    // The script takes over: several files, fields per file, and the camera.
    single.hidden = true;
    single.querySelectorAll("input, select").forEach(function (el) { el.disabled = true; });
    fileInput.multiple = true;
    fileInput.required = false;
    camera.hidden = false;

    function fill(template, value) { return template.replace("{num}", String(value)); }

    function field(labelText, input) {
      var wrap = document.createElement("div");
      wrap.className = "field";
      var label = document.createElement("label");
      label.htmlFor = input.id;
      label.textContent = labelText;
      wrap.appendChild(label);
      wrap.appendChild(input);
      return wrap;
    }

    function addFile(file) {
      counter += 1;
      var id = "upload-" + counter;
      var li = document.createElement("li");
      li.className = "upload-item";
      var name = document.createElement("p");
      name.className = "upload-name";
      name.textContent = file.name + " · " + (file.size < 1048576
        ? t.kb.replace("{num}", String(Math.max(1, Math.round(file.size / 1024))))
        : t.mb.replace("{num}", (file.size / 1048576).toFixed(1)));
      li.appendChild(name);
      var title = document.createElement("input");
      title.type = "text"; title.id = id + "-title"; title.maxLength = 200;
      title.value = file.name.replace(/\.[^.]+$/, "").slice(0, 200);
      var date = document.createElement("input");
      date.type = "date"; date.id = id + "-date"; date.value = today; date.max = today;
      var kind = kindSelect.cloneNode(true);
      kind.disabled = false; kind.id = id + "-kind"; kind.removeAttribute("name");
      kind.value = kindSelect.value;
      li.appendChild(field(t.title, title));
      li.appendChild(field(t.date, date));
      li.appendChild(field(t.kind, kind));
      var progress = document.createElement("progress");
      progress.max = 100; progress.value = 0;
      progress.setAttribute("aria-label", fill(t.progress.replace("{name}", "{num}"), file.name));
      li.appendChild(progress);
      var status = document.createElement("p");
      status.className = "upload-status";
      status.setAttribute("role", "status");
      status.textContent = t.waiting;
      li.appendChild(status);
      var remove = document.createElement("button");
      remove.type = "button"; remove.className = "button secondary"; remove.textContent = t.remove;
      li.appendChild(remove);
      var item = {file: file, li: li, title: title, date: date, kind: kind, progress: progress,
                  status: status, remove: remove, done: false};
      remove.addEventListener("click", function () {
        items = items.filter(function (i) { return i !== item; });
        li.remove();
      });
      if (file.size > maxBytes) {
        status.textContent = fill(t.failed.replace("{reason}", "{num}"), t.too_big);
        status.className = "upload-status error";
        item.done = true;
      }
      queue.appendChild(li);
      items.push(item);
    }

    function take(input) {
      Array.prototype.forEach.call(input.files, addFile);
      input.value = "";
      errorEl.textContent = "";
    }
    fileInput.addEventListener("change", function () { take(fileInput); });
    camera.querySelector("input").addEventListener("change", function (ev) { take(ev.target); });

    function fail(item, reason) {
      item.status.textContent = t.failed.replace("{reason}", reason);
      item.status.className = "upload-status error";
      item.progress.value = 0;
    }

    function send(item) {
      return new Promise(function (resolve) {
        var data = new FormData();
        form.querySelectorAll("input[type=hidden], select[name=insured_id]").forEach(function (el) {
          data.append(el.name, el.value);
        });
        data.append("title", item.title.value.trim());
        data.append("document_date", item.date.value);
        data.append("kind", item.kind.value);
        data.append("file", item.file, item.file.name);
        var xhr = new XMLHttpRequest();
        xhr.open("POST", form.action);
        xhr.setRequestHeader("Accept", "application/json");
        xhr.upload.addEventListener("progress", function (ev) {
          if (!ev.lengthComputable) { return; }
          var pct = Math.min(99, Math.round(ev.loaded * 100 / ev.total));
          item.progress.value = pct;
          item.status.textContent = fill(t.uploading, pct);
          if (ev.loaded >= ev.total) { item.status.textContent = t.checking; }
        });
        xhr.addEventListener("load", function () {
          var body = null;
          try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
          if (xhr.status === 201 && body) {
            item.done = true;
            item.progress.value = 100;
            item.status.textContent = t.done + " ";
            var link = document.createElement("a");
            link.href = body.url; link.textContent = t.open;
            item.status.appendChild(link);
            item.status.className = "upload-status ok";
            item.remove.remove();
            [item.title, item.date, item.kind].forEach(function (el) { el.disabled = true; });
            resolve(true);
            return;
          }
          var reason = body && (body.errors ? Object.keys(body.errors).map(function (k) {
            return body.errors[k].join(" ");
          }).join(" ") : body.detail);
          fail(item, reason || String(xhr.status));
          resolve(false);
        });
        xhr.addEventListener("error", function () { fail(item, t.network); resolve(false); });
        xhr.send(data);
      });
    }

    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var todo = items.filter(function (i) { return !i.done; });
      if (!todo.length) { errorEl.textContent = t.nothing; return; }
      var missing = todo.filter(function (i) { return !i.title.value.trim() || !i.date.value; });
      if (missing.length) {
        missing.forEach(function (i) { fail(i, t.required); });
        (missing[0].title.value.trim() ? missing[0].date : missing[0].title).focus();
        return;
      }
      button.disabled = true;
      var ok = true;
      todo.reduce(function (chain, item) {
        return chain.then(function () {
          return send(item).then(function (sent) { ok = ok && sent; });
        });
      }, Promise.resolve()).then(function () {
        button.disabled = false;
        form.dispatchEvent(new CustomEvent("pd:uploaded", {bubbles: true, detail: {ok: ok}}));
        if (ok && form.hasAttribute("data-reload")) { window.location.reload(); }
      });
    });
  });
})();
