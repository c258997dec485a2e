// 可视化中心 (/dashboard): draws the page's charts with ECharts from the /api/stats queries
// each chart names (data-api) and the maps the hub serves (data-geo). Every chart's numbers
// are also a table in the page, so nothing is lost without this script. No inline script: the
// page's Content-Security-Policy allows scripts from this site only.
(function () {
  'use strict';
  var root = document.querySelector('.dash');
  if (!root) return;
  if (!window.echarts) {
    root.setAttribute('data-charts', 'unavailable');
    return;
  }
  var echarts = window.echarts;
  var measure = {
    path: root.dataset.measurePath || 'counts.cases',
    name: root.dataset.measureName || '登记咨询',
    percent: root.dataset.measurePercent === '1'
  };
  var green = ['#e8f5e9', '#a5d6a7', '#43a047', '#1b5e20'];
  var palette = ['#2e7d32', '#1565c0', '#ef6c00', '#6a1b9a', '#00838f', '#c62828'];
  var charts = [];

  function pick(obj, path) {
    return path.split('.').reduce(function (o, k) { return o == null ? null : o[k]; }, obj);
  }

  function show(v, percent) {
    if (v == null || isNaN(v)) return '—';
    if (percent) return (v * 100).toFixed(1) + '%';
    return Math.round(v * 100) / 100 + '';
  }

  function getJson(url) {
    return fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (r) {
        if (!r.ok) {
          return r.json().catch(function () { return {}; }).then(function (b) {
            throw new Error(b.message || ('HTTP ' + r.status));
          });
        }
        return r.json();
      });
  }

  function chart(el) {
    var c = echarts.init(el, null, { renderer: 'canvas' });
    charts.push(c);
    return c;
  }

  function failed(el, err) {
    el.setAttribute('data-ready', 'error');
    el.textContent = '图表加载失败：' + (err && err.message ? err.message : err) + '（数据见下方数据表）';
  }

  function ready(el) { el.setAttribute('data-ready', '1'); }

  function drawMap(el) {
    Promise.all([getJson(el.dataset.api), getJson(el.dataset.geo)]).then(function (res) {
      var stats = res[0], geo = res[1];
      var mapName = 'region-' + root.dataset.region;
      echarts.registerMap(mapName, geo);
      var byCode = {};
      stats.groups.forEach(function (g) { byCode[g.key] = g; });
      var max = 0;
      var data = geo.features.map(function (f) {
        var g = byCode[f.properties.code];
        var v = g ? pick(g, measure.path) : (measure.path.indexOf('counts.') === 0 ? 0 : null);
        if (v != null && v > max) max = v;
        return { name: f.properties.name, code: f.properties.code, value: v, cases: g ? g.counts.cases : 0 };
      });
      var c = chart(el);
      c.setOption({
        tooltip: {
          trigger: 'item',
          formatter: function (p) {
            var d = p.data || {};
            return p.name + '<br>' + measure.name + '：' + show(d.value, measure.percent) +
              '<br>登记咨询：' + (d.cases || 0);
          }
        },
        visualMap: {
          type: 'continuous', min: 0, max: max > 0 ? max : 1, left: 8, bottom: 8,
          text: ['高', '低'], calculable: true, inRange: { color: green },
          formatter: function (v) { return show(v, measure.percent); }
        },
        series: [{
          type: 'map', map: mapName, roam: false, selectedMode: false,
          label: { show: geo.features.length <= 30, fontSize: 11 },
          emphasis: { label: { show: true } },
          data: data
        }]
      });
      c.on('click', function (p) {
        if (p.data && p.data.code) window.location.href = root.dataset.link + encodeURIComponent(p.data.code);
      });
      ready(el);
    }).catch(function (e) { failed(el, e); });
  }

  function drawTrend(el) {
    getJson(el.dataset.api).then(function (stats) {
      var months = stats.groups.map(function (g) { return g.key; });
      var line = function (name, path) {
        return { name: name, type: 'line', smooth: true, data: stats.groups.map(function (g) { return pick(g, path); }) };
      };
      chart(el).setOption({
        color: palette,
        tooltip: { trigger: 'axis' },
        legend: { top: 0 },
        grid: { left: 40, right: 16, top: 36, bottom: 28 },
        xAxis: { type: 'category', data: months },
        yAxis: { type: 'value', minInterval: 1 },
        series: [line('登记咨询', 'counts.cases'), line('提交专家', 'counts.escalated'),
          line('已办结', 'counts.closed'), line('有效服务', 'counts.valid')]
      });
      ready(el);
    }).catch(function (e) { failed(el, e); });
  }

  function drawFunnel(el) {
    getJson(el.dataset.api).then(function (stats) {
      var c = stats.totals.counts;
      var steps = [['登记咨询', c.cases], ['类似案例解决', c.solved_by_similar], ['提交专家', c.escalated],
        ['专家已答复', c.answered], ['已办结', c.closed], ['有效服务', c.valid]];
      chart(el).setOption({
        color: palette,
        tooltip: { trigger: 'item', formatter: '{b}：{c}' },
        series: [{
          type: 'funnel', sort: 'none', left: '10%', width: '80%', top: 8, bottom: 8, min: 0,
          max: Math.max(c.cases, 1), gap: 2, label: { show: true, position: 'inside', formatter: '{b} {c}' },
          data: steps.map(function (s) { return { name: s[0], value: s[1] }; })
        }]
      });
      ready(el);
    }).catch(function (e) { failed(el, e); });
  }

  function drawIndustry(el) {
    getJson(el.dataset.api).then(function (stats) {
      var groups = stats.groups.slice().reverse();
      chart(el).setOption({
        color: palette,
        tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
        legend: { top: 0 },
        grid: { left: 96, right: 16, top: 32, bottom: 20 },
        xAxis: { type: 'value', minInterval: 1 },
        yAxis: { type: 'category', data: groups.map(function (g) { return g.name; }) },
        series: [
          { name: '登记咨询', type: 'bar', data: groups.map(function (g) { return g.counts.cases; }) },
          { name: '已办结', type: 'bar', data: groups.map(function (g) { return g.counts.closed; }) }
        ]
      });
      ready(el);
    }).catch(function (e) { failed(el, e); });
  }

  function gauge(name, value, center, max, percent) {
    return {
      type: 'gauge', name: name, center: center, radius: '42%', min: 0, max: max,
      progress: { show: true, width: 10 }, axisLine: { lineStyle: { width: 10 } },
      axisTick: { show: false }, splitLine: { length: 6 }, axisLabel: { show: false },
      pointer: { show: false }, title: { offsetCenter: [0, '70%'], fontSize: 13 },
      detail: {
        offsetCenter: [0, '10%'], fontSize: 18,
        formatter: function (v) { return percent ? show(v / 100, true) : show(v, false); }
      },
      data: [{ value: value, name: name }]
    };
  }

  function drawGauges(el) {
    var targets = el.dataset.targets;
    if (targets) {
      var list = [];
      try { list = JSON.parse(targets); } catch (e) { failed(el, e); return; }
      var n = list.length, cols = Math.min(n, 3), rows = Math.ceil(n / cols);
      chart(el).setOption({
        color: palette,
        series: list.map(function (t, i) {
          var x = ((i % cols) + 0.5) / cols * 100, y = (Math.floor(i / cols) + 0.5) / rows * 100;
          var s = gauge(t.name, Math.round(Math.min(t.progress, 1) * 1000) / 10, [x + '%', y + '%'], 100, true);
          s.radius = (rows > 1 ? 30 : 42) + '%';
          return s;
        })
      });
      ready(el);
      return;
    }
    getJson(el.dataset.api).then(function (stats) {
      var r = stats.totals.rates;
      var pct = function (v) { return v == null ? 0 : Math.round(v * 1000) / 10; };
      chart(el).setOption({
        color: palette,
        series: [
          gauge('1小时分诊率', pct(r.triaged_in_time), ['17%', '55%'], 100, true),
          gauge('3小时响应率', pct(r.responded_in_time), ['50%', '55%'], 100, true),
          gauge('有效服务率', pct(r.valid), ['83%', '55%'], 100, true)
        ]
      });
      ready(el);
    }).catch(function (e) { failed(el, e); });
  }

  var draw = { 'dash-map': drawMap, 'dash-trend': drawTrend, 'dash-funnel': drawFunnel,
    'dash-industry': drawIndustry, 'dash-gauges': drawGauges, 'dash-targets': drawGauges };
  Object.keys(draw).forEach(function (id) {
    var el = document.getElementById(id);
    if (el) draw[id](el);
  });
  var pending = null;
  window.addEventListener('resize', function () {
    clearTimeout(pending);
    pending = setTimeout(function () { charts.forEach(function (c) { c.resize(); }); }, 150);
  });
  window.addEventListener('beforeprint', function () { charts.forEach(function (c) { c.resize(); }); });
})();
