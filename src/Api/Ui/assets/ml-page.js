// The operator's ML page. Everything shown is read from the service's own APIs every 2 s (no second source of
// truth): _stats for deployments and their nodes, trained_models for models, _ml/info for the cluster's limits, and
// _ml/ui/api/cluster for each node's processors and memory and for the aliases. The chart history is this page's
// own: samples taken since it was opened.
(function () {
  "use strict";

  const PollMs = 2000;
  const HistorySeconds = 600;
  const MinWindowSeconds = 120;
  const Colors = { throughput: "#2b6cb0", average: "#1f8a4c", p99: "#c05621" };

  const $ = (id) => document.getElementById(id);
  const charts = new Map();       // deployment id → { card, throughput, latency, history, last }
  let lastGoodAt = null;          // when the last complete read (kept on screen when a refresh fails) arrived

  // ---- formatting -------------------------------------------------------------------------------------------
  const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  const int = (n) => (n === undefined || n === null ? "—" : Math.round(n).toLocaleString("en-US"));
  const ms = (n) => (n === undefined || n === null || !isFinite(n) ? "—" : n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : Math.round(n).toLocaleString("en-US"));
  const rate = (n) => (n === undefined || n === null || !isFinite(n) ? "—" : n < 10 ? n.toFixed(1) : Math.round(n).toLocaleString("en-US"));
  function bytes(n) {
    if (n === undefined || n === null) return "—";
    const units = ["B", "KB", "MB", "GB", "TB"];
    let i = 0, v = n;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return (v < 10 && i > 0 ? v.toFixed(1) : Math.round(v)) + " " + units[i];
  }
  const time = (d) => d.toLocaleTimeString("en-GB", { hour12: false });
  const badge = (state, cls) => `<span class="badge ${esc(cls || state || "unknown")}">${esc((state || "unknown").replace("_", " "))}</span>`;
  const num = (value, format, alertWhenPositive) => {
    const cls = ["num"];
    if (value === 0 || value === undefined || value === null) cls.push("zero");
    else if (alertWhenPositive) cls.push("alert");
    return { cls: cls.join(" "), text: value === undefined || value === null ? "—" : (format || int)(value) };
  };
  // A bar of used against total. Queues and memory turn amber at 75 % and red at 95 %; processors (neutral: true)
  // stay blue, because a node whose processors are all allocated is working as planned.
  function meter(used, total, text, neutral) {
    const share = total > 0 ? Math.min(1, used / total) : 0;
    const level = neutral ? "neutral" : share >= 0.95 ? "bad" : share >= 0.75 ? "warn" : "";
    return `<div class="meter-row"><div class="meter ${level}"><span style="width:${(share * 100).toFixed(1)}%"></span></div><span class="meter-text">${text}</span></div>`;
  }

  // ---- reading the APIs -------------------------------------------------------------------------------------
  async function getJson(path) {
    let response;
    try {
      response = await fetch(path, { cache: "no-store", headers: { Accept: "application/json" } });
    } catch (e) {
      throw new Error(`${path}: the service did not answer (${e.message})`);
    }
    const text = await response.text();
    let body = null;
    try { body = text ? JSON.parse(text) : null; } catch { /* not JSON: reported below */ }
    if (!response.ok) {
      const error = body && body.error;
      const reason = error && typeof error === "object" ? `${error.type}: ${error.reason}` : error || text.slice(0, 200);
      throw new Error(`${path} answered ${response.status} (${reason})`);
    }
    return body;
  }

  async function readAll() {
    const [stats, models, info, cluster] = await Promise.all([
      getJson("/_ml/trained_models/_stats?size=1000"),
      getJson("/_ml/trained_models?size=1000"),
      getJson("/_ml/info"),
      getJson("/_ml/ui/api/cluster"),
    ]);
    return { stats, models, info, cluster, at: new Date() };
  }

  // ---- shaping a read into what the page shows ------------------------------------------------------------
  function deploymentsOf(stats) {
    const list = [];
    for (const entry of stats.trained_model_stats || []) {
      const d = entry.deployment_stats;
      if (!d) continue;
      const nodes = (d.nodes || []).map((n) => {
        const nodeId = n.node ? Object.keys(n.node)[0] : null;
        const name = nodeId ? n.node[nodeId].name || nodeId : "(node not known)";
        return {
          name,
          state: n.routing_state ? n.routing_state.routing_state : "unknown",
          reason: n.routing_state ? n.routing_state.reason : null,
          allocations: n.number_of_allocations,
          threads: n.threads_per_allocation ?? d.threads_per_allocation,
          pending: n.number_of_pending_requests ?? 0,
          inferences: n.inference_count ?? 0,
          average: n.average_inference_time_ms,
          p99: n.inference_time_p99_ms,
          lastMinute: n.throughput_last_minute ?? 0,
          errors: n.error_count ?? 0,
          rejected: n.rejected_execution_count ?? 0,
          timeouts: n.timeout_count ?? 0,
          cacheHits: n.inference_cache_hit_count ?? 0,
        };
      });
      const sum = (f) => nodes.reduce((s, n) => s + (f(n) || 0), 0);
      const p99s = nodes.map((n) => n.p99).filter((v) => typeof v === "number");
      const inferences = sum((n) => n.inferences);
      list.push({
        id: d.deployment_id,
        modelId: d.model_id,
        state: d.state,
        reason: d.reason,
        allocationStatus: d.allocation_status,
        allocations: d.number_of_allocations,
        threads: d.threads_per_allocation,
        adaptive: d.adaptive_allocations && d.adaptive_allocations.enabled,
        queueCapacity: d.queue_capacity,
        priority: d.priority,
        nodes,
        pending: sum((n) => n.pending),
        inferences,
        // The mean over every answered request: each node's average weighted by its count.
        average: inferences > 0 ? sum((n) => (n.average ?? 0) * n.inferences) / inferences : null,
        p99: p99s.length ? Math.max(...p99s) : null,
        lastMinute: sum((n) => n.lastMinute),
        errors: d.error_count ?? 0,
        rejected: d.rejected_execution_count ?? 0,
        timeouts: d.timeout_count ?? 0,
        cacheHits: sum((n) => n.cacheHits),
        totalTimeMs: sum((n) => (n.average ?? 0) * n.inferences),
      });
    }
    return list.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  // One sample per deployment: requests answered per second and their mean latency since the previous sample.
  function sample(deployment, at) {
    let chart = charts.get(deployment.id);
    if (!chart) return;
    const t = at.getTime() / 1000;
    const h = chart.history;
    const previous = chart.last;
    chart.last = { t, inferences: deployment.inferences, totalTimeMs: deployment.totalTimeMs };
    if (!previous) { deployment.rate = null; return; }
    const dt = t - previous.t;
    const dCount = deployment.inferences - previous.inferences;
    // A counter that went down is a node that restarted: no rate for that interval.
    const perSecond = dt > 0 && dCount >= 0 ? dCount / dt : null;
    const latency = dCount > 0 ? (deployment.totalTimeMs - previous.totalTimeMs) / dCount : null;
    deployment.rate = perSecond;
    h.t.push(t); h.rate.push(perSecond); h.average.push(latency !== null && latency >= 0 ? latency : null); h.p99.push(deployment.p99);
    while (h.t.length && h.t[0] < t - HistorySeconds) { h.t.shift(); h.rate.shift(); h.average.shift(); h.p99.shift(); }
    showWindow(chart.throughput, [h.t, h.rate], t);
    showWindow(chart.latency, [h.t, h.average, h.p99], t);
  }

  // The time axis shows at least the last minute up to now, and y starts at 0 with headroom: set explicitly, because
  // uPlot's automatic ranges stretch a single sample over years.
  function showWindow(plot, data, now) {
    const first = data[0].length ? data[0][0] : now;
    let top = 0;
    for (let s = 1; s < data.length; s++) for (const v of data[s]) if (v !== null && v > top) top = v;
    plot.batch(() => {
      plot.setData(data, false);
      plot.setScale("x", { min: Math.min(first, now - MinWindowSeconds), max: now });
      plot.setScale("y", { min: 0, max: top > 0 ? top * 1.15 : 1 });
    });
  }

  // ---- charts ----------------------------------------------------------------------------------------------
  function plotOptions(width, series, yLabel) {
    return {
      width, height: 140,
      legend: { show: true, live: false },
      cursor: { drag: { x: false, y: false } },
      // Ranges are set by showWindow; these are the empty chart's.
      scales: { x: { time: true, auto: false, min: Date.now() / 1000 - MinWindowSeconds, max: Date.now() / 1000 }, y: { auto: false, min: 0, max: 1 } },
      axes: [
        // Clock times only: uPlot's default adds a date line that crowds a small chart.
        { stroke: "#5f6b7a", grid: { stroke: "#eef1f5" }, ticks: { stroke: "#dde2ea" }, font: "11px system-ui", space: 70, size: 28,
          values: (u, splits) => splits.map((t) => time(new Date(t * 1000))) },
        { stroke: "#5f6b7a", grid: { stroke: "#eef1f5" }, ticks: { stroke: "#dde2ea" }, font: "11px system-ui", size: 46, label: yLabel, labelSize: 14, labelFont: "11px system-ui" },
      ],
      series: [{}].concat(series),
    };
  }

  function ensureChart(deployment) {
    if (charts.has(deployment.id)) return;
    const card = document.createElement("div");
    card.className = "chart-card";
    card.dataset.deploymentId = deployment.id;
    card.innerHTML = `<h3>${esc(deployment.id)}<span class="sub">${deployment.modelId !== deployment.id ? esc(deployment.modelId) : ""}</span></h3>
      <div class="chart-pair"><div><div class="chart-title">Throughput (requests/s)</div><div class="chart-slot"></div></div>
      <div><div class="chart-title">Inference time (ms)</div><div class="chart-slot"></div></div></div>`;
    // Keep the cards in deployment id order.
    const container = $("charts");
    const after = [...container.children].find((c) => c.dataset.deploymentId > deployment.id);
    container.insertBefore(card, after || null);
    const [slotA, slotB] = card.querySelectorAll(".chart-slot");
    const history = { t: [], rate: [], average: [], p99: [] };
    const throughput = new uPlot(plotOptions(slotA.clientWidth || 300,
      [{ label: "req/s", stroke: Colors.throughput, fill: "rgba(43,108,176,0.10)", width: 1.5, value: (u, v) => rate(v) }], "req/s"),
      [history.t, history.rate], slotA);
    const latency = new uPlot(plotOptions(slotB.clientWidth || 300, [
      { label: "average", stroke: Colors.average, width: 1.5, value: (u, v) => ms(v) },
      { label: "p99 (worst node)", stroke: Colors.p99, width: 1.5, dash: [5, 3], value: (u, v) => ms(v) },
    ], "ms"), [history.t, history.average, history.p99], slotB);
    charts.set(deployment.id, { card, throughput, latency, history, last: null });
  }

  function dropChartsExcept(ids) {
    for (const [id, chart] of charts) {
      if (ids.has(id)) continue;
      chart.throughput.destroy(); chart.latency.destroy(); chart.card.remove();
      charts.delete(id);
    }
  }

  function resizeCharts() {
    for (const chart of charts.values()) {
      const [slotA, slotB] = chart.card.querySelectorAll(".chart-slot");
      chart.throughput.setSize({ width: slotA.clientWidth, height: 140 });
      chart.latency.setSize({ width: slotB.clientWidth, height: 140 });
    }
  }

  // ---- rendering -------------------------------------------------------------------------------------------
  function cells(values) {
    return values.map((v) => (typeof v === "string" ? `<td>${v}</td>` : `<td class="${v.cls}"${v.field ? ` data-field="${v.field}"` : ""}>${v.text}</td>`)).join("");
  }

  function allocationCell(d) {
    const s = d.allocationStatus;
    const threads = `× ${d.threads}`;
    if (!s) return `${int(d.allocations)} <span class="sub">${threads}</span>`;
    // ES's allocation states, in fewer words: fully_allocated is full, started is short of its target.
    const shown = s.state === "fully_allocated" ? "" : s.state === "started" ? ` ${badge("partial")}` : ` ${badge(s.state)}`;
    return `<span title="allocation_status: ${esc(s.state)}">${int(s.allocation_count)} / ${int(s.target_allocation_count)} <span class="sub">${threads}</span></span>${shown}${d.adaptive ? ' <span class="sub">adaptive</span>' : ""}`;
  }

  function renderDeployments(deployments) {
    const rows = [];
    for (const d of deployments) {
      const stateTitle = d.reason ? ` title="${esc(d.reason)}"` : "";
      rows.push(`<tr class="deployment" data-deployment-id="${esc(d.id)}">` + cells([
        `<span class="dep-id" title="${esc(d.id)}">${esc(d.id)}</span>${d.modelId !== d.id ? `<span class="dep-model">${esc(d.modelId)}</span>` : ""}` +
          (d.reason ? `<span class="reason" title="${esc(d.reason)}">${esc(d.reason)}</span>` : ""),
        `<span${stateTitle}>${badge(d.state)}</span>`,
        allocationCell(d),
        meter(d.pending, d.queueCapacity, `${int(d.pending)} / ${int(d.queueCapacity)}`),
        { ...num(d.rate, rate), field: "rate" },
        { ...num(d.lastMinute), field: "throughput_last_minute" },
        { ...num(d.average, ms), field: "average_inference_time_ms" },
        { cls: "num" + (d.p99 === null ? " zero" : ""), text: d.p99 === null ? "—" : ms(d.p99), field: "inference_time_p99_ms" },
        { ...num(d.inferences), field: "inference_count" },
        { ...num(d.errors, int, true), field: "error_count" },
        { ...num(d.rejected, int, true), field: "rejected_execution_count" },
        { ...num(d.timeouts, int, true), field: "timeout_count" },
        { ...num(d.cacheHits), field: "inference_cache_hit_count" },
      ]) + "</tr>");
      for (const n of d.nodes) {
        rows.push(`<tr class="route" data-deployment-id="${esc(d.id)}" data-node="${esc(n.name)}">` + cells([
          `${esc(n.name)}${n.reason ? `<span class="reason" title="${esc(n.reason)}">${esc(n.reason)}</span>` : ""}`,
          badge(n.state),
          n.allocations === undefined ? "—" : `${int(n.allocations)} <span class="sub">× ${int(n.threads)}</span>`,
          meter(n.pending, d.queueCapacity, `${int(n.pending)} / ${int(d.queueCapacity)}`),
          { cls: "num zero", text: "" },
          num(n.lastMinute),
          num(n.average, ms),
          { cls: "num" + (typeof n.p99 === "number" ? "" : " zero"), text: typeof n.p99 === "number" ? ms(n.p99) : "—", field: "inference_time_p99_ms" },
          num(n.inferences),
          num(n.errors, int, true),
          num(n.rejected, int, true),
          num(n.timeouts, int, true),
          num(n.cacheHits),
        ]) + "</tr>");
      }
    }
    $("deployments-body").innerHTML = rows.join("");
    $("deployments-empty").hidden = deployments.length > 0;
    $("charts-empty").hidden = deployments.length > 0;
  }

  function renderNodes(cluster) {
    $("nodes-body").innerHTML = (cluster.nodes || []).map((n) => {
      const low = n.low_priority_threads > 0 ? ` <span class="sub">+${n.low_priority_threads} low priority</span>` : "";
      const routes = (n.routes || []).map((r) => `<span class="route-item">${esc(r.deployment_id)} <span class="sub">${r.number_of_allocations}×${r.threads_per_allocation} ${esc(r.routing_state)}</span></span>`).join("");
      return `<tr data-node="${esc(n.name)}"><td><strong>${esc(n.name)}</strong></td>
        <td>${meter(n.used_processors, n.allocated_processors, `${n.used_processors} / ${n.allocated_processors}`, true)}${low}</td>
        <td>${meter(n.used_memory_bytes, n.memory_bytes, `${bytes(n.used_memory_bytes)} / ${bytes(n.memory_bytes)}`)}</td>
        <td class="routes-list">${routes || '<span class="sub">none</span>'}</td></tr>`;
    }).join("") || `<tr><td colspan="4" class="sub">No live ML node.</td></tr>`;
  }

  function renderModels(models, stats, cluster) {
    const aliasesOf = {};
    for (const [alias, model] of Object.entries(cluster.model_aliases || {})) (aliasesOf[model] ||= []).push(alias);
    const sizeOf = {}, deploymentsOf = {};
    for (const e of stats.trained_model_stats || []) {
      sizeOf[e.model_id] = e.model_size_stats ? e.model_size_stats.model_size_bytes : undefined;
      if (e.deployment_stats) (deploymentsOf[e.model_id] ||= []).push(e.deployment_stats.deployment_id);
    }
    $("models-body").innerHTML = (models.trained_model_configs || []).map((m) => {
      const task = m.inference_config ? Object.keys(m.inference_config)[0] : "";
      return `<tr data-model-id="${esc(m.model_id)}"><td title="${esc(m.model_id)}"><strong>${esc(m.model_id)}</strong></td>
        <td>${esc(m.model_type || "")}${task ? ` <span class="sub">${esc(task)}</span>` : ""}</td>
        <td class="num">${bytes(sizeOf[m.model_id])}</td>
        <td>${(deploymentsOf[m.model_id] || []).map(esc).join(", ") || '<span class="sub">not deployed</span>'}</td>
        <td>${(aliasesOf[m.model_id] || []).map((a) => `<code>${esc(a)}</code>`).join(" ") || '<span class="sub">—</span>'}</td></tr>`;
    }).join("") || `<tr><td colspan="5" class="sub">No models. Upload one with <code>PUT _ml/trained_models/&lt;model_id&gt;</code>.</td></tr>`;
  }

  function renderSummary(deployments, cluster, info) {
    const started = deployments.filter((d) => d.state === "started").length;
    $("sum-deployments").textContent = deployments.length;
    $("sum-deployments-note").textContent = deployments.length ? `${started} started, ${deployments.length - started} other` : "none running";
    const nodes = cluster.nodes || [];
    $("sum-nodes").textContent = nodes.length;
    const limits = (info && info.limits) || {};
    $("sum-nodes-note").textContent = limits.effective_max_model_memory_limit ? `max model memory ${limits.effective_max_model_memory_limit}` : "\u00a0";
    const used = nodes.reduce((s, n) => s + n.used_processors, 0), offered = nodes.reduce((s, n) => s + n.allocated_processors, 0);
    $("sum-processors").textContent = `${used} / ${offered}`;
    $("sum-processors-bar").style.width = offered ? `${Math.min(100, (100 * used) / offered)}%` : "0";
    const memUsed = nodes.reduce((s, n) => s + n.used_memory_bytes, 0), memOffered = nodes.reduce((s, n) => s + n.memory_bytes, 0);
    $("sum-memory").textContent = `${bytes(memUsed)} / ${bytes(memOffered)}`;
    $("sum-memory-bar").style.width = memOffered ? `${Math.min(100, (100 * memUsed) / memOffered)}%` : "0";
    const throughput = deployments.reduce((s, d) => s + (d.rate || 0), 0);
    $("sum-throughput").textContent = rate(throughput);
    $("sum-failures").textContent = int(deployments.reduce((s, d) => s + d.errors + d.rejected + d.timeouts, 0));
  }

  function render(read) {
    const deployments = deploymentsOf(read.stats);
    dropChartsExcept(new Set(deployments.map((d) => d.id)));
    for (const d of deployments) { ensureChart(d); sample(d, read.at); }
    renderDeployments(deployments);
    renderNodes(read.cluster);
    renderModels(read.models, read.stats, read.cluster);
    renderSummary(deployments, read.cluster, read.info);
  }

  function showStatus(error) {
    const status = $("refresh-status");
    if (error) {
      status.dataset.state = "error";
      $("refresh-text").textContent = "refresh failed";
      $("error-text").textContent = error.message;
      $("error-since").textContent = lastGoodAt ? time(lastGoodAt) : "never";
      $("error-banner").hidden = false;
    } else {
      status.dataset.state = "live";
      $("refresh-text").textContent = `live · ${time(lastGoodAt)}`;
      $("error-banner").hidden = true;
    }
  }

  async function poll() {
    try {
      const read = await readAll();
      lastGoodAt = read.at;
      render(read);
      showStatus(null);
    } catch (e) {
      showStatus(e); // the last good read stays on screen
    } finally {
      // The next read starts 2 s after this one ended: a slow answer never stacks reads up.
      setTimeout(poll, PollMs);
    }
  }

  async function identify() {
    try {
      const root = await getJson("/");
      $("cluster-name").textContent = `${root.cluster_name} · node ${root.name}`;
      $("cluster-version").textContent = `ES API ${root.version.number}`;
      document.title = `Trained models · ${root.cluster_name}`;
    } catch { /* the poll's banner reports an unreachable service */ }
    // An API-only process (Client:Gateways) has no dashboard of its own: the silos' HTTP ports serve it.
    try {
      const dashboard = await fetch("/dashboard", { cache: "no-store" });
      if (!dashboard.ok) throw new Error();
    } catch {
      const link = $("dashboard-link");
      link.removeAttribute("href");
      link.textContent = "Orleans dashboard: on the silos' ports";
      link.title = "This process is an API-only Orleans client; open /dashboard on a silo's HTTP port";
    }
  }

  new ResizeObserver(() => resizeCharts()).observe($("charts"));
  identify();
  poll();
  // For tests and the curious: the last complete read, and how many samples a deployment's charts hold.
  window.mlPage = { samples: (id) => (charts.has(id) ? charts.get(id).history.t.length : 0) };
})();
