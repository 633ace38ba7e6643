// Starts Swagger UI on /api/docs. A file, not an inline script, so the site's CSP
// (script-src 'self') holds on this page too.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = window.SwaggerUIBundle({
    url: root.getAttribute("data-openapi"),
    domNode: root,
    deepLinking: true,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    validatorUrl: null, // never send the document to a third party to validate
    persistAuthorization: false, // a member key is not kept in the browser's storage
    displayRequestDuration: true,
  });
})();
