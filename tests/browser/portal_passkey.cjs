// The care-team portal in a real browser: Debian's Chromium, headless, driven by
// playwright-core, with Chromium's virtual WebAuthn authenticator (a platform passkey with
// user verification). Opens an invite link, registers a passkey, signs out, signs in again
// with the passkey, and fails on any Content-Security-Policy violation or page error. With
// IDENTIFIER, then finds that child by the identifier, opens her page (waits for the growth
// charts), opens the infant checkup form, fills it in and saves it.
//
//   NODE_PATH=DIR/node_modules node tests/browser/portal_passkey.cjs BASE_URL TOKEN [CHROMIUM [IDENTIFIER]]
//
// BASE_URL is http://localhost:PORT. Prints one JSON line {"ok":true,...} on success.
"use strict";

const { chromium } = require("playwright-core");

// axe-core (npm, pinned) on each page: the serious and critical violations, by page. It runs in
// a second browser context with the same session that ignores the pages' CSP, since axe is
// injected as a script of the page; the first context keeps the CSP and its violation check.
async function accessibility(browser, context, urls) {
  const source = require("fs").readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
  const audit = await browser.newContext({ bypassCSP: true, storageState: await context.storageState() });
  const found = [];
  const checked = [];
  try {
    const page = await audit.newPage();
    for (const url of urls) {
      await page.goto(url);
      await page.addScriptTag({ content: source });
      const result = await page.evaluate(() => window.axe.run(document));
      if (!result.passes.length) throw new Error("axe-core checked nothing on " + url);
      checked.push(result.passes.length);
      for (const v of result.violations) {
        if (v.impact === "serious" || v.impact === "critical") {
          found.push({ url, id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5) });
        }
      }
    }
  } finally {
    await audit.close();
  }
  return { violations: found, rules_passed_per_page: checked };
}

async function main() {
  const [base, token, executable, identifier] = process.argv.slice(2);
  const browser = await chromium.launch({
    executablePath: executable || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox"],
  });
  const problems = [];
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on("console", (m) => {
      if (m.type() === "error") problems.push("console: " + m.text());
    });
    page.on("pageerror", (e) => problems.push("page error: " + e.message));
    page.on("response", (r) => {
      if (r.status() >= 400) problems.push(r.status() + " " + r.url());
    });
    // Any Content-Security-Policy violation (an inline script or style) fails the run.
    await page.addInitScript(() => {
      document.addEventListener("securitypolicyviolation", (e) => {
        console.error("CSP violation: " + e.violatedDirective);
      });
    });
    const cdp = await context.newCDPSession(page);
    await cdp.send("WebAuthn.enable");
    const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
      options: {
        protocol: "ctap2",
        transport: "internal",
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });

    await page.goto(base + "/portal/invite/" + token);
    await page.click("#register");
    await page.waitForURL(base + "/portal/", { timeout: 15000 });
    const registered = await page.textContent(".who");

    await page.click("#signout");
    await page.waitForURL(base + "/portal/signin", { timeout: 15000 });
    const afterSignOut = await page.request.get(base + "/portal/api/session");

    await page.click("#signin");
    await page.waitForURL(base + "/portal/", { timeout: 15000 });
    const signedIn = await page.textContent(".who");
    const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });

    let charts = 0;
    let saved = "";
    let axe = [];
    if (identifier) {
      await page.goto(base + "/portal/patients?lang=en");
      await page.fill("#identifier", identifier);
      await Promise.all([page.waitForURL(/identifier=/), page.click("form.search button[type=submit]")]);
      await Promise.all([page.waitForURL(/\/portal\/patients\/[0-9a-f]{32}$/), page.click("table.found a")]);
      await page.waitForSelector("figure svg");
      charts = await page.locator("figure svg").count();
      // PHR_PORTAL_SCREENSHOTS=DIR: the pages as docs/ shows them (a tablet-sized window).
      const shots = process.env.PHR_PORTAL_SCREENSHOTS;
      if (shots) {
        await page.setViewportSize({ width: 1024, height: 768 });
        await page.screenshot({ path: shots + "/portal-patient.png", fullPage: true });
      }
      await Promise.all([page.waitForURL(/results\/child_checkup$/), page.click("a[href$='/results/child_checkup']")]);
      if (shots) await page.screenshot({ path: shots + "/portal-checkup-form.png", fullPage: true });
      await page.selectOption("select[name=checkup_type]", "months_3_4");
      await page.fill("input[name=weight]", "6.9");
      await page.fill("input[name=length]", "61.0");
      await page.selectOption("select[name=length_position]", "recumbent");
      await Promise.all([page.waitForURL(/saved=child_checkup$/), page.click("form.result button[type=submit]")]);
      saved = (await page.textContent(".saved")) || "";
      axe = await accessibility(browser, context, [
        base + "/portal/signin",
        base + "/portal/",
        base + "/portal/patients?lang=en",
        base + "/portal/patients?lang=ja&identifier=" + encodeURIComponent(identifier),
        page.url().split("?")[0] + "?lang=en",
        page.url().split("?")[0] + "?lang=ja",
        page.url().split("?")[0] + "/results/child_checkup?lang=en",
        page.url().split("?")[0] + "/results/immunization?lang=ja",
      ]);
    }

    if (problems.length) throw new Error(problems.join("; "));
    console.log(
      JSON.stringify({
        ok: true,
        registered: registered.trim(),
        signed_out_status: afterSignOut.status(),
        signed_in: signedIn.trim(),
        credentials: credentials.length,
        resident: credentials.every((c) => c.isResidentCredential),
        charts,
        saved: saved.trim(),
        axe,
      })
    );
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.error(String(e && e.stack ? e.stack : e));
  process.exit(1);
});
