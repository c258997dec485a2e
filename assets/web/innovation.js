// 农村双创平台 (/innovation): draws the platforms the page's filters select (data-api, the
// JSON of /api/innovation) as points on the Sichuan map the node serves (data-map), coloured by
// type; a click on a point opens the platform's page. The same platforms are the table below,
// so nothing is lost without this script. No inline script (the Content-Security-Policy).
(function () {
  'use strict';
  var el = document.getElementById('innovation-map');
  if (!el) return;
  if (!window.echarts) {
    el.setAttribute('data-ready', 'unavailable');
    el.textContent = '地图不可用（平台见下方列表）';
    return;
  }
  var echarts = window.echarts;
  var colours = { xingchuang: '#2e7d32', zhongchuang: '#1565c0', incubator: '#ef6c00', park: '#6a1b9a' };
  var names = { xingchuang: '星创天地', zhongchuang: '众创空间', incubator: '科技企业孵化器', park: '农业科技园区' };

  function getJson(url) {
    return fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } }).then(function (r) {
      if (!r.ok) throw new Error('HTTP ' + r.status);
      return r.json();
    });
  }

  Promise.all([getJson(el.dataset.api), getJson(el.dataset.map)]).then(function (res) {
    var platforms = res[0].platforms, geo = res[1];
    echarts.registerMap('sichuan', geo);
    var series = Object.keys(names).map(function (type) {
      return {
        name: names[type],
        type: 'scatter',
        coordinateSystem: 'geo',
        symbolSize: 12,
        itemStyle: { color: colours[type] },
        data: platforms.filter(function (p) { return p.platform_type === type; }).map(function (p) {
          return { name: p.name, value: [p.longitude, p.latitude], id: p.id, level: p.level_zh, region: p.region_name };
        })
      };
    });
    var chart = echarts.init(el, null, { renderer: 'canvas' });
    chart.setOption({
      // No entry animation: the points are clickable as soon as the map says it is ready (and
      // village tablets are slow).
      animation: false,
      tooltip: {
        trigger: 'item',
        formatter: function (p) {
          var d = p.data || {};
          return d.name ? d.name + '<br>' + p.seriesName + ' · ' + d.level + '<br>' + d.region : p.name;
        }
      },
      legend: { top: 0, type: 'scroll' },
      geo: {
        map: 'sichuan', roam: true, top: 36, bottom: 8,
        itemStyle: { areaColor: '#f1f8e9', borderColor: '#9e9e9e' },
        emphasis: { itemStyle: { areaColor: '#dcedc8' }, label: { show: false } }
      },
      series: series
    });
    chart.on('click', function (p) {
      if (p.data && p.data.id) window.location.href = '/items/' + encodeURIComponent(p.data.id);
    });
    window.addEventListener('resize', function () { chart.resize(); });
    el.setAttribute('data-points', String(platforms.length));
    el.setAttribute('data-ready', '1');
  }).catch(function (e) {
    el.setAttribute('data-ready', 'error');
    el.textContent = '地图加载失败：' + (e && e.message ? e.message : e) + '（平台见下方列表）';
  });
})();
