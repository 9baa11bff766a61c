// Progressive enhancement only: every page works without this file.
import { initAll } from '/nhsuk/nhsuk-frontend.min.js';

initAll();

// A region marked data-poll (a SACT submission's progress) is fetched again each second and replaced,
// until the page's answer no longer marks it (processed). The region is aria-live, so changes are read out.
for (const region of document.querySelectorAll('[data-poll]')) {
  const poll = async () => {
    const response = await fetch(window.location.href, { credentials: 'same-origin' });
    if (!response.ok) return;
    const fresh = new DOMParser().parseFromString(await response.text(), 'text/html').getElementById(region.id);
    if (!fresh) return;
    region.replaceChildren(...fresh.childNodes);
    if (fresh.hasAttribute('data-poll')) {
      setTimeout(poll, 1000);
    } else {
      window.location.reload(); // processed: the whole page, with the report
    }
  };
  setTimeout(poll, 1000);
}
