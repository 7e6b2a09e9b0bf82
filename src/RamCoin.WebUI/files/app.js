// Polls json (a relative URL, so the page works behind kubectl proxy's path prefix) once a second and
// draws the hash rate computed from two consecutive answers, as DockerCoins' page does.
"use strict";

const points = [];
const maxPoints = 120;
let previous = null;

function show(id, value) {
  document.getElementById(id).textContent = value;
}

function draw() {
  const canvas = document.getElementById("chart");
  const ctx = canvas.getContext("2d");
  const width = canvas.width;
  const height = canvas.height;
  ctx.clearRect(0, 0, width, height);
  if (points.length < 2) {
    return;
  }
  const top = Math.max(1, ...points.map(p => p.rate)) * 1.1;
  const first = points[0].now;
  const span = Math.max(1, points[points.length - 1].now - first);
  ctx.strokeStyle = "#8892a6";
  ctx.fillStyle = "#8892a6";
  ctx.font = "12px sans-serif";
  ctx.fillText(top.toFixed(1) + " hashes/s", 6, 14);
  ctx.strokeStyle = "#2f7df6";
  ctx.lineWidth = 2;
  ctx.beginPath();
  points.forEach((p, i) => {
    const x = ((p.now - first) / span) * (width - 10) + 5;
    const y = height - 5 - (p.rate / top) * (height - 25);
    if (i === 0) {
      ctx.moveTo(x, y);
    } else {
      ctx.lineTo(x, y);
    }
  });
  ctx.stroke();
}

async function refresh() {
  const status = document.getElementById("status");
  try {
    const response = await fetch("json", { cache: "no-store" });
    if (!response.ok) {
      throw new Error("json answered " + response.status);
    }
    const data = await response.json();
    show("hashes", Number(data.hashes).toLocaleString());
    show("coins", Number(data.coins).toLocaleString());
    if (previous && data.now > previous.now) {
      const rate = (data.hashes - previous.hashes) / (data.now - previous.now);
      points.push({ now: data.now, rate: Math.max(0, rate) });
      if (points.length > maxPoints) {
        points.shift();
      }
      show("speed", rate.toFixed(1));
      draw();
    }
    previous = data;
    status.textContent = "Updated " + new Date(data.now * 1000).toLocaleTimeString();
    status.className = "";
  } catch (error) {
    status.textContent = "No data: " + error.message;
    status.className = "error";
  }
}

refresh();
setInterval(refresh, 1000);
