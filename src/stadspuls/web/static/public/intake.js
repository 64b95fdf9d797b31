/* The public report form, made easier where JavaScript runs (without it the form still sends):
   previews of the chosen photos and videos with a way to remove one before sending, "use my
   location", a rough point picked on the municipality map, one press of the send button, and
   the focus on the error summary when the form comes back with problems. */
(function () {
  "use strict";

  // The shipped map's projection (scripts/build_map.py): equirectangular, longitudes scaled by
  // cos(52.2°), 1000 units across the country's bounding box.
  var WEST = 3.3583782521716445, EAST = 7.227388971370642, NORTH = 53.5539756280043;
  var COS = Math.cos(52.2 * Math.PI / 180);
  var UNIT = (EAST - WEST) / 1000;

  function toLatLon(x, y) { return { lat: NORTH - y * UNIT * COS, lon: WEST + x * UNIT }; }
  function toXY(lat, lon) { return { x: (lon - WEST) / UNIT, y: (NORTH - lat) / (UNIT * COS) }; }
  function fill(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_m, key) { return String(values[key]); });
  }
  function size(bytes) {
    return bytes >= 1048576 ? (bytes / 1048576).toFixed(1) + " MB" : Math.max(1, Math.round(bytes / 1024)) + " kB";
  }

  /* Chosen files: every choice adds to the list (a phone picks one photo at a time), each
     with a preview and a remove button; the input's own FileList is kept in step. */
  function previews(input) {
    var list = document.getElementById(input.dataset.previews);
    if (!list || typeof DataTransfer === "undefined") return;
    var files = [];
    function sync() {
      var transfer = new DataTransfer();
      files.forEach(function (file) { transfer.items.add(file); });
      input.files = transfer.files;
    }
    function render() {
      list.textContent = "";
      files.forEach(function (file, index) {
        var item = document.createElement("li");
        var thumb;
        if (/^image\//.test(file.type)) {
          thumb = document.createElement("img");
          thumb.alt = "";
          thumb.src = URL.createObjectURL(file);
          thumb.onload = function () { URL.revokeObjectURL(thumb.src); };
        } else if (/^video\//.test(file.type)) {
          thumb = document.createElement("video");
          thumb.muted = true;
          thumb.preload = "metadata";
          thumb.src = URL.createObjectURL(file);
          thumb.setAttribute("aria-hidden", "true");
        } else {
          thumb = document.createElement("span");
          thumb.className = "file-icon";
          thumb.textContent = "📄";
          thumb.setAttribute("aria-hidden", "true");
        }
        var name = document.createElement("span");
        name.className = "file-name";
        name.textContent = file.name;
        var weight = document.createElement("span");
        weight.className = "file-size";
        weight.textContent = size(file.size);
        name.appendChild(weight);
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "button-secondary";
        remove.textContent = list.dataset.textRemove;
        remove.setAttribute("aria-label", list.dataset.textRemove + ": " + file.name);
        remove.addEventListener("click", function () {
          files.splice(index, 1);
          sync();
          render();
          var next = list.querySelectorAll("button")[Math.min(index, files.length - 1)];
          (next || input).focus();
          announce(fill(list.dataset.textRemoved, { file: file.name }));
        });
        item.append(thumb, name, remove);
        list.appendChild(item);
      });
    }
    function announce(text) {
      var note = document.createElement("li");
      note.className = "visually-hidden";
      note.textContent = text;
      list.appendChild(note);
    }
    input.addEventListener("change", function () {
      Array.prototype.forEach.call(input.files, function (file) {
        var known = files.some(function (f) {
          return f.name === file.name && f.size === file.size && f.lastModified === file.lastModified;
        });
        if (!known) files.push(file);
      });
      sync();
      render();
    });
  }

  /* The place: a point from the phone or from the map, shown in words, removable. */
  function place(form) {
    var lat = form.querySelector("#lat"), lon = form.querySelector("#lon"), name = form.querySelector("#place");
    var shown = form.querySelector("[data-point]"), clear = form.querySelector("[data-clear-point]");
    var tools = form.querySelector("[data-locate]");
    if (!lat || !shown || !tools) return;
    tools.hidden = false;
    var picker = form.querySelector("[data-map-picker]");
    var map = null;

    function set(latitude, longitude, label, text) {
      lat.value = latitude.toFixed(6);
      lon.value = longitude.toFixed(6);
      name.value = label || "";
      shown.textContent = (text || shown.dataset.textPoint) + (label ? ": " + label : "") +
        " (" + lat.value + ", " + lon.value + ")";
      clear.hidden = false;
      if (map) map.mark(latitude, longitude);
    }
    clear.addEventListener("click", function () {
      lat.value = lon.value = name.value = "";
      shown.textContent = "";
      clear.hidden = true;
      if (map) map.unmark();
      form.querySelector("#address").focus();
    });

    var locate = tools.querySelector("[data-use-location]");
    if (!("geolocation" in navigator)) locate.hidden = true;
    locate.addEventListener("click", function () {
      shown.textContent = shown.dataset.textLocating;
      navigator.geolocation.getCurrentPosition(function (position) {
        var metres = Math.round(position.coords.accuracy);
        set(position.coords.latitude, position.coords.longitude, "",
          fill(shown.dataset.textLocated, { metres: metres }));
      }, function () {
        shown.textContent = shown.dataset.textDenied;
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });

    var open = tools.querySelector("[data-open-map]");
    open.addEventListener("click", function () {
      var opening = picker.hidden;
      picker.hidden = !opening;
      open.setAttribute("aria-expanded", String(opening));
      if (opening && !map) {
        map = drawMap(picker, set);
        if (lat.value && lon.value) map.mark(parseFloat(lat.value), parseFloat(lon.value));
      }
    });
  }

  function drawMap(picker, set) {
    var NS = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(NS, "svg");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", picker.dataset.label);
    var full = { x: 0, y: 0, w: 1000, h: 1183 };
    var view = { x: full.x, y: full.y, w: full.w, h: full.h };
    var marker = document.createElementNS(NS, "circle");
    marker.setAttribute("class", "marker");
    marker.setAttribute("r", "0");
    var picked = null;
    function apply() { svg.setAttribute("viewBox", [view.x, view.y, view.w, view.h].join(" ")); marker.setAttribute("r", picked ? String(view.w / 60) : "0"); }
    apply();
    picker.appendChild(svg);
    var tools = document.createElement("div");
    tools.className = "map-tools";
    [["+", picker.dataset.textZoomIn, 0.5], ["−", picker.dataset.textZoomOut, 2]].forEach(function (spec) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button-secondary";
      button.textContent = spec[0];
      button.setAttribute("aria-label", spec[1]);
      button.addEventListener("click", function () { zoom(spec[2]); });
      tools.appendChild(button);
    });
    picker.appendChild(tools);

    function zoom(factor, cx, cy) {
      var centreX = cx !== undefined ? cx : (picked ? picked.x : view.x + view.w / 2);
      var centreY = cy !== undefined ? cy : (picked ? picked.y : view.y + view.h / 2);
      view.w = Math.min(full.w, Math.max(8, view.w * factor));
      view.h = view.w * full.h / full.w;
      view.x = Math.min(full.w - view.w, Math.max(0, centreX - view.w / 2));
      view.y = Math.min(full.h - view.h, Math.max(0, centreY - view.h / 2));
      apply();
    }
    function point(event) {
      var matrix = svg.getScreenCTM();
      if (!matrix) return null;
      var p = svg.createSVGPoint();
      p.x = event.clientX; p.y = event.clientY;
      return p.matrixTransform(matrix.inverse());
    }
    // A drag pans (when zoomed in), a tap picks: told apart by how far the pointer moved.
    var drag = null;
    svg.addEventListener("pointerdown", function (event) {
      drag = { x: event.clientX, y: event.clientY, view: { x: view.x, y: view.y }, moved: false };
    });
    svg.addEventListener("pointermove", function (event) {
      if (!drag) return;
      var dx = event.clientX - drag.x, dy = event.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 8) drag.moved = true;
      if (!drag.moved || view.w >= full.w) return;
      var scale = view.w / svg.getBoundingClientRect().width;
      view.x = Math.min(full.w - view.w, Math.max(0, drag.view.x - dx * scale));
      view.y = Math.min(full.h - view.h, Math.max(0, drag.view.y - dy * scale));
      apply();
    });
    svg.addEventListener("pointerup", function (event) {
      var wasDrag = drag && drag.moved;
      drag = null;
      if (wasDrag) return;
      var at = point(event);
      if (!at) return;
      var target = event.target.closest ? event.target.closest("path") : null;
      var where = toLatLon(at.x, at.y);
      svg.querySelectorAll("path.picked").forEach(function (p) { p.classList.remove("picked"); });
      if (target) target.classList.add("picked");
      set(where.lat, where.lon, target ? target.dataset.name : "");
    });

    fetch(picker.dataset.src).then(function (response) { return response.json(); }).then(function (shapes) {
      var box = shapes.viewBox.split(" ").map(Number);
      full = { x: box[0], y: box[1], w: box[2], h: box[3] };
      view = { x: full.x, y: full.y, w: full.w, h: full.h };
      var group = document.createElementNS(NS, "g");
      shapes.municipalities.forEach(function (shape) {
        var path = document.createElementNS(NS, "path");
        path.setAttribute("d", shape.d);
        path.dataset.name = shape.name;
        var title = document.createElementNS(NS, "title");
        title.textContent = shape.name;
        path.appendChild(title);
        group.appendChild(path);
      });
      svg.appendChild(group);
      svg.appendChild(marker);
      if (picked) zoom(0.25, picked.x, picked.y); else apply();
    });

    return {
      mark: function (latitude, longitude) {
        picked = toXY(latitude, longitude);
        marker.setAttribute("cx", String(picked.x));
        marker.setAttribute("cy", String(picked.y));
        apply();
      },
      unmark: function () { picked = null; apply(); },
    };
  }

  function sending(form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("button[type=submit]");
      if (!button) return;
      // After the first press: a slow upload must not become two reports.
      window.setTimeout(function () { button.disabled = true; button.textContent = button.dataset.sending; }, 0);
    });
  }

  function copy(button) {
    var target = document.querySelector(button.dataset.copy);
    if (!target || !navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(target.textContent.trim()).then(function () { button.textContent = button.dataset.copied; });
    });
  }

  document.querySelectorAll("input[type=file][data-previews]").forEach(previews);
  document.querySelectorAll("form[data-report-form]").forEach(function (form) { place(form); sending(form); });
  document.querySelectorAll("[data-copy]").forEach(copy);
  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();
})();
