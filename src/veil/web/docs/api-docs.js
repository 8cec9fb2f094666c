// The interactive API reference at /docs: Swagger UI, served by Veil itself (no CDN),
// reading the service's own /openapi.json. A file of its own because the page's
// Content-Security-Policy allows no inline script.
window.addEventListener("load", () => {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // keys typed into "Authorize" stay in this tab's memory only
    persistAuthorization: false,
    tryItOutEnabled: false,
  });
});
