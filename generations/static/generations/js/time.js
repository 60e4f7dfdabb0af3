/* Moments in the member's own time zone: every <time data-local> the server wrote (in the site's
   zone, "7 Dec 2026, 14:05 UTC") is rewritten in the browser's zone, in the same one format;
   data-local="ago" reads "just now", "5 minutes ago" … and keeps the full moment in its title. */
const FORMAT = new Intl.DateTimeFormat(undefined, {
  day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short",
});
const RELATIVE = window.Intl && Intl.RelativeTimeFormat ? new Intl.RelativeTimeFormat(undefined, { numeric: "always" }) : null;
const STEPS = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400], ["hour", 3600], ["minute", 60]];

export function full(date) { return FORMAT.format(date); }

export function ago(date, now = Date.now()) {
  const seconds = Math.round((now - date.getTime()) / 1000);
  if (Math.abs(seconds) < 60) { return "just now"; }
  for (const [unit, size] of STEPS) {
    if (Math.abs(seconds) >= size) {
      const value = Math.round(seconds / size);
      return RELATIVE ? RELATIVE.format(-value, unit) : `${value} ${unit}${value === 1 ? "" : "s"} ago`;
    }
  }
  return "just now";
}

export function localize(root = document) {
  root.querySelectorAll("time[data-local]").forEach((element) => {
    const date = new Date(element.getAttribute("datetime"));
    if (Number.isNaN(date.getTime())) { return; }
    element.title = full(date);
    element.textContent = element.dataset.local === "ago" ? ago(date) : full(date);
  });
}

localize();
setInterval(() => localize(), 60000);
