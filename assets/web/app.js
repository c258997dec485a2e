// Yizhan kiosk: progressive enhancement only; every page works without this script.
"use strict";

// Upload with a visible progress bar (photos and video can take minutes on a slow PC).
function enhanceCaseForm() {
  const form = document.getElementById("case-form");
  if (!form || !window.XMLHttpRequest) return;
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
    xhr.open("POST", form.action);
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
      label.textContent = "上传失败：与驿站程序的连接中断，请重试";
      button.disabled = false;
    };
    xhr.send(new FormData(form));
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
  const box = document.querySelector("[data-job-case]");
  if (!box) return;
  const id = box.getAttribute("data-job-case");
  const bar = box.querySelector(".bar");
  const label = box.querySelector(".label");
  const tick = async () => {
    try {
      const res = await fetch("/api/cases/" + encodeURIComponent(id));
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

document.addEventListener("DOMContentLoaded", () => {
  enhanceCaseForm();
  enhanceTownPicker();
  pollJobs();
});
