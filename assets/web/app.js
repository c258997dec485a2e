// Yizhan kiosk: progressive enhancement only; every page works without this script.
"use strict";

// "返回上一页" on error pages: back in history where there is one (the link itself goes to the
// node's home without script; the pages' Content-Security-Policy allows no javascript: links).
document.addEventListener("click", (ev) => {
  const back = ev.target.closest && ev.target.closest("a[data-back]");
  if (back && window.history.length > 1) {
    ev.preventDefault();
    window.history.back();
  }
});

// Upload with a visible progress bar (photos and video can take minutes on a slow link): the
// kiosk's case form and the desk's answer form (forms marked data-upload, with a .progress box).
function enhanceUploadForm(form) {
  if (!window.XMLHttpRequest) return;
  form.addEventListener("submit", (ev) => {
    if (!form.checkValidity()) return;
    ev.preventDefault();
    const box = form.querySelector(".progress");
    const bar = box.querySelector(".bar");
    const label = box.querySelector(".label");
    const button = form.querySelector("button[type=submit]");
    box.hidden = false;
    button.disabled = true;
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.getAttribute("action"));
    xhr.upload.onprogress = (e) => {
      if (!e.lengthComputable) return;
      const pct = Math.floor((e.loaded / e.total) * 100);
      bar.style.width = pct + "%";
      label.textContent = pct < 100 ? "上传中 " + pct + "%" : "上传完成，正在处理照片和视频…";
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300 && xhr.responseURL && !xhr.responseURL.endsWith("/cases")) {
        window.location.href = xhr.responseURL;
      } else {
        document.open();
        document.write(xhr.responseText);
        document.close();
      }
    };
    xhr.onerror = () => {
      label.textContent = "上传失败：连接中断，请重试";
      button.disabled = false;
    };
    const data = new FormData(form);
    // The button pressed (保存案例 / 提交专家) is part of what the officer chose.
    if (ev.submitter && ev.submitter.name) data.append(ev.submitter.name, ev.submitter.value);
    xhr.send(data);
  });
}

// County -> town cascade when the kiosk serves more than one county.
function enhanceTownPicker() {
  const county = document.getElementById("county");
  const town = document.getElementById("region_code");
  if (!county || !town) return;
  county.addEventListener("change", async () => {
    town.innerHTML = '<option value="">加载中…</option>';
    if (!county.value) { town.innerHTML = '<option value="">请选择乡镇</option>'; return; }
    try {
      const res = await fetch("/api/regions/" + encodeURIComponent(county.value) + "/children");
      const towns = await res.json();
      town.innerHTML = '<option value="">请选择乡镇</option>' +
        towns.map((t) => '<option value="' + t.code + '">' + t.name + "</option>").join("");
    } catch (e) {
      town.innerHTML = '<option value="">加载失败，请重新选择县市区</option>';
    }
  });
}

// Video transcoding progress on a case page; reloads when the proxy is ready.
function pollJobs() {
  const box = document.querySelector("[data-job-poll]");
  if (!box) return;
  const url = box.getAttribute("data-job-poll");
  const bar = box.querySelector(".bar");
  const label = box.querySelector(".label");
  const tick = async () => {
    try {
      const res = await fetch(url);
      const c = await res.json();
      const jobs = c.jobs || [];
      if (jobs.length && jobs.every((j) => j.state === "done" || j.state === "failed")) { window.location.reload(); return; }
      const running = jobs.find((j) => j.state !== "done") || { progress: 0, state: "pending" };
      const pct = Math.round(running.progress * 100);
      bar.style.width = pct + "%";
      label.textContent = (running.state === "pending" ? "视频排队中 " : "视频转码中 ") + pct + "%";
    } catch (e) { /* offline or restarting: try again */ }
    setTimeout(tick, 1500);
  };
  setTimeout(tick, 1000);
}

// Find similar (找类似): while the officer types (and when a photo is added), show the five most
// similar solved cases with their answers. "解决了" saves the case as solved by that case.
function enhanceSimilar() {
  const form = document.getElementById("case-form");
  const panel = form && form.querySelector("[data-testid=similar]");
  if (!panel) return;
  const list = panel.querySelector(".similar-list");
  const solvedBy = form.querySelector("input[name=solved_by]");
  const offered = form.querySelector("input[name=offered]");
  const fields = ["subject", "description"].map((n) => form.querySelector("[name=" + n + "]"));
  const industry = form.querySelector("[name=industry]");
  const photos = form.querySelector("input[name=photos]");
  let timer = null;
  let seq = 0;
  const esc = (t) => String(t).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));
  // Who owns the answer (知识产权) and whether a county centre signed it off, as the page shows it.
  const credit = (h) => {
    const parts = [];
    if (h.owner) parts.push("知识产权：" + esc(h.owner));
    if (h.reviewed) parts.push("经县运管中心审核发布");
    return parts.length ? '<p class="small credit">' + parts.join(" · ") + "</p>" : "";
  };
  const search = async () => {
    const q = fields.map((f) => f.value).join(" ").trim();
    const files = photos && photos.files ? Array.from(photos.files).slice(0, 3) : [];
    if (q.length < 2 && files.length === 0) { panel.hidden = true; return; }
    const mine = ++seq;
    const body = new FormData();
    body.append("q", q);
    body.append("industry", industry.value);
    files.forEach((f) => body.append("photos", f));
    try {
      const res = await fetch("/api/similar", { method: "POST", body, headers: { "x-csrf-token": (document.querySelector('meta[name="csrf-token"]') || {}).content || "" } });
      const hits = await res.json();
      if (mine !== seq || !Array.isArray(hits)) return;
      offered.value = hits.map((h) => h.id).join(",");
      panel.hidden = hits.length === 0;
      list.innerHTML = hits.map((h) =>
        '<li><p class="q">' + esc(h.question) + (h.photo_match ? ' <span class="tag">照片相似</span>' : "") + "</p>" +
        '<p class="a"><b>答复：</b>' + esc(h.answer) + "</p>" + credit(h) +
        '<button type="button" class="primary solve" data-id="' + esc(h.id) + '">解决了</button></li>').join("");
    } catch (e) { /* the search is a help, never a blocker */ }
  };
  const schedule = () => { clearTimeout(timer); timer = setTimeout(search, 350); };
  fields.forEach((f) => f.addEventListener("input", schedule));
  industry.addEventListener("change", schedule);
  if (photos) photos.addEventListener("change", schedule);
  list.addEventListener("click", (ev) => {
    const b = ev.target.closest("button.solve");
    if (!b) return;
    solvedBy.value = b.getAttribute("data-id");
    form.requestSubmit();
  });
}

// Thumbnails of the chosen photos, with their count, before anything is uploaded: made in the
// browser from the files themselves (object URLs), so choosing photos costs no network.
function enhancePhotoPreviews() {
  if (!window.URL || !URL.createObjectURL) return;
  document.querySelectorAll("input[type=file][data-preview]").forEach((input) => {
    const box = document.querySelector(input.getAttribute("data-preview"));
    if (!box) return;
    const count = box.querySelector(".count");
    const thumbs = box.querySelector(".thumbs");
    const max = parseInt(input.getAttribute("data-max") || "0", 10);
    let urls = [];
    input.addEventListener("change", () => {
      urls.forEach((u) => URL.revokeObjectURL(u));
      urls = [];
      thumbs.textContent = "";
      const files = Array.from(input.files || []);
      box.hidden = files.length === 0;
      let text = "已选 " + files.length + " 张照片";
      if (max > 0 && files.length > max) text += "（超过上限 " + max + " 张，请少选几张）";
      count.textContent = text;
      files.forEach((f) => {
        const url = URL.createObjectURL(f);
        urls.push(url);
        const img = document.createElement("img");
        img.src = url;
        img.alt = f.name;
        img.title = f.name + "（" + Math.ceil(f.size / 1024) + " KB）";
        img.setAttribute("data-testid", "photo-preview");
        img.style.cssText = "width:72px;height:72px;object-fit:cover;border-radius:6px;margin:0 6px 6px 0";
        // A format the browser cannot show (HEIC on most browsers): say so instead of a broken image.
        img.onerror = () => {
          const note = document.createElement("span");
          note.className = "small";
          note.textContent = f.name + "：无法预览";
          img.replaceWith(note);
        };
        thumbs.appendChild(img);
      });
    });
  });
}

document.addEventListener("DOMContentLoaded", () => {
  enhancePhotoPreviews();
  enhanceSimilar();
  document.querySelectorAll("form[data-upload]").forEach(enhanceUploadForm);
  enhanceTownPicker();
  pollJobs();
});

// "打印" links (the desk's reports): print the page; print rules are in app.css.
document.addEventListener("click", (e) => {
  const link = e.target instanceof Element ? e.target.closest("[data-print]") : null;
  if (link) {
    e.preventDefault();
    window.print();
  }
});
