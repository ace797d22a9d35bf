// Boots Swagger UI on the page's #swagger-ui element, with the document its data-document names.
const root = document.getElementById("swagger-ui");

window.SwaggerUIBundle({
  url: root.dataset.document,
  domNode: root,
  deepLinking: true,
  // No calls to the public validator: the page talks to this server only.
  validatorUrl: null,
  // Requests "tried out" from the page may send the session cookie; writes then need the CSRF header.
  withCredentials: true,
  presets: [window.SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
