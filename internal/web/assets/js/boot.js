// boot.js is a classic script that runs before the application's
// modules: if they fail to load or throw before starting, it replaces
// the loading message with an error instead of leaving a blank page.
(function () {
  'use strict';
  function fail(why) {
    if (document.documentElement.dataset.app === 'ready') return;
    var view = document.getElementById('view');
    if (!view) return;
    while (view.firstChild) view.removeChild(view.firstChild);
    var box = document.createElement('div');
    box.className = 'error';
    box.setAttribute('role', 'alert');
    var strong = document.createElement('strong');
    strong.textContent = 'The chaintrace interface failed to start';
    var detail = document.createElement('div');
    detail.className = 'detail';
    detail.textContent = why + ' The REST API still answers at /api/v1.';
    box.appendChild(strong);
    box.appendChild(detail);
    view.appendChild(box);
  }
  window.addEventListener('error', function (e) {
    if (document.documentElement.dataset.app !== 'ready') fail((e && e.message ? e.message + '.' : 'A script failed.'));
  }, true);
  window.addEventListener('load', function () {
    setTimeout(function () { fail('Its scripts did not load (an old browser, or a script error).'); }, 4000);
  });
})();
