/* global SwaggerUIBundle */
// Starts Swagger UI on /api/docs. A file, not an inline script: the CSP allows scripts from
// this origin only. The spec URL comes from the page (data-spec-url).
(function () {
  'use strict';
  var root = document.getElementById('swagger-ui');
  if (!root || typeof SwaggerUIBundle !== 'function') return;
  window.ui = SwaggerUIBundle({
    url: root.getAttribute('data-spec-url') || '/api/openapi.json',
    domNode: root,
    deepLinking: true,
    // never ask an outside validator about the document
    validatorUrl: null,
    tryItOutEnabled: false,
    persistAuthorization: false,
    displayRequestDuration: true,
    docExpansion: 'list',
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
  });
})();
