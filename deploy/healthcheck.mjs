/**
 * Container health check of a Baton node (the image's HEALTHCHECK and docker-compose.yml): exits 0
 * when `GET /health` answers 200 and 1 otherwise, printing the body's problems so that
 * `docker inspect` shows why. It asks the port of `BATON_HEALTH_ADDR` (default `:8080`), on
 * loopback unless that address names a specific host. Plain JavaScript: the image has no tsx.
 */
const addr = process.env.BATON_HEALTH_ADDR || ":8080";
const colon = addr.lastIndexOf(":");
const host = addr.slice(0, colon).replace(/^\[|\]$/g, "");
const target = host === "" || host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
const url = `http://${target.includes(":") ? `[${target}]` : target}:${addr.slice(colon + 1)}/health`;

try {
  const res = await fetch(url, { signal: AbortSignal.timeout(3_000) });
  if (res.ok) process.exit(0);
  const body = await res.json().catch(() => ({}));
  console.error(`${url}: ${res.status} ${JSON.stringify(body.problems ?? body)}`);
} catch (err) {
  console.error(`${url}: ${err.message}`);
}
process.exit(1);
