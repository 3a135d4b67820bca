/* global Element, HTMLFormElement, navigator */
// candlecast: the little behaviour every page shares. No inline scripts anywhere (the CSP
// allows only files from this origin), so pages describe what they need with data-* attributes.
(function () {
  'use strict';

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute('content') : '';
  }

  // Every htmx request carries the CSRF token; the server refuses changes without it.
  document.addEventListener('htmx:configRequest', function (e) {
    var token = csrfToken();
    if (token) e.detail.headers['X-CSRF-Token'] = token;
  });

  function flash(kind, text) {
    var slot = document.getElementById('flash');
    if (!slot) return;
    var div = document.createElement('div');
    div.className = 'flash flash-' + kind;
    div.setAttribute('role', kind === 'error' ? 'alert' : 'status');
    var span = document.createElement('span');
    span.textContent = text;
    var btn = document.createElement('button');
    btn.type = 'button';
    btn.className = 'dismiss';
    btn.setAttribute('data-dismiss', '');
    btn.setAttribute('aria-label', 'Dismiss');
    btn.textContent = '\u00d7';
    div.appendChild(span);
    div.appendChild(btn);
    slot.appendChild(div);
  }

  // The server could not be reached at all (no HTTP answer to show).
  document.addEventListener('htmx:sendError', function () {
    flash('error', 'The server could not be reached. Check your connection and try again.');
  });

  document.addEventListener('click', function (e) {
    var target = e.target instanceof Element ? e.target : null;
    if (!target) return;

    var dismiss = target.closest('[data-dismiss]');
    if (dismiss) {
      var box = dismiss.closest('.flash');
      if (box) box.remove();
      return;
    }

    var copy = target.closest('[data-copy-target]');
    if (copy) {
      var source = document.getElementById(copy.getAttribute('data-copy-target'));
      if (!source) return;
      var text = source.textContent || '';
      var done = function () {
        copy.textContent = 'Copied';
        setTimeout(function () { copy.textContent = 'Copy'; }, 2000);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { selectText(source); });
      } else {
        selectText(source);
      }
      return;
    }

    var tz = target.closest('[data-fill-timezone]');
    if (tz) {
      var select = document.getElementById(tz.getAttribute('data-fill-timezone'));
      var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (select && zone) {
        select.value = zone;
        if (select.value !== zone) flash('warning', 'Your browser reports the time zone ' + zone + ', which is not in the list.');
      }
    }
  });

  function selectText(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var sel = window.getSelection();
    if (!sel) return;
    sel.removeAllRanges();
    sel.addRange(range);
  }

  // The top bar's Admin menu (a <details>) closes on a click elsewhere or on Escape.
  document.addEventListener('click', function (e) {
    var inside = e.target instanceof Element ? e.target.closest('[data-nav-menu]') : null;
    var open = document.querySelectorAll('[data-nav-menu][open]');
    for (var i = 0; i < open.length; i++) if (open[i] !== inside) open[i].removeAttribute('open');
  });
  document.addEventListener('keydown', function (e) {
    if (e.key !== 'Escape') return;
    var open = document.querySelectorAll('[data-nav-menu][open]');
    for (var i = 0; i < open.length; i++) open[i].removeAttribute('open');
  });

  // Plain (non-htmx) forms that ask first: <form data-confirm="Delete this?">.
  document.addEventListener('submit', function (e) {
    var form = e.target;
    if (e.defaultPrevented || !(form instanceof HTMLFormElement)) return;
    var question = form.getAttribute('data-confirm');
    if (question && !window.confirm(question)) e.preventDefault();
  });
})();
