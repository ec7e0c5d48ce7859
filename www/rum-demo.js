// The RUM demo page: the npm package's RUM client (www/vendor/edgewrite, copied from pkg/ by
// worker/build.sh) with web-vitals, pushing to this Worker's /api/v1/rum. Its own metric,
// demo_cart_adds_total, is declared in rum-demo-schema.json, which `.ci/start` also gives the
// Worker as RUM_SCHEMA.
import { rum } from "./vendor/edgewrite/rum.js";
import * as webVitals from "./vendor/web-vitals.js";

const $ = (id) => document.getElementById(id);
const client = rum({
  vitals: webVitals,
  metrics: await (await fetch("rum-demo-schema.json")).json(),
  flushEvery: Number(new URLSearchParams(location.search).get("flush") ?? 10_000),
});
window.rumClient = client;

function show() {
  $("route").textContent = client.route();
}

// A single-page app's navigation: a new route, a page view of it.
$("products").addEventListener("click", (e) => {
  const product = e.target.dataset?.product;
  if (!product) return;
  history.pushState({}, "", product === "home" ? "/rum-demo.html" : `/shop/product/${product}`);
  $("title").textContent = product === "home" ? "Home" : `Product ${product}`;
  client.pageView();
  show();
});
$("cart").addEventListener("click", () => client.count("demo_cart_adds_total", { route: client.route() }));
$("error").addEventListener("click", () => setTimeout(() => {
  throw new Error("a demo error");
}));
$("reject").addEventListener("click", () => Promise.reject(new Error("a demo rejection")));
$("shift").addEventListener("click", () => {
  const p = document.createElement("p");
  p.textContent = "A late banner pushes everything down.";
  p.style.cssText = "height:120px;background:#fde8c8;margin:0";
  document.body.prepend(p);
});
// Something for LCP to measure.
$("filler").textContent = "Lorem ipsum dolor sit amet. ".repeat(40);
show();
client.ready.then(() => ($("pushes").textContent = "recording; pushes every 10 s and when the page is hidden"));
