// The care-team portal in a real browser: Debian's Chromium, headless, driven by
// playwright-core, with Chromium's virtual WebAuthn authenticator (a platform passkey with
// user verification). Opens an invite link, registers a passkey, signs out, signs in again
// with the passkey, and fails on any Content-Security-Policy violation or page error. With
// IDENTIFIER, then finds that child by the identifier, opens her page (waits for the growth
// charts), opens the infant checkup form, fills it in and saves it; uploads a session's CSV
// with a bad row (refused whole, 422), then fixed (previewed, stored); runs axe-core on the
// pages. With EXPIRE set, then waits past the server's idle limit (start it with
// --portal-idle-minutes 1) and checks that the next page is the sign-in page.
//
//   NODE_PATH=DIR/node_modules node tests/browser/portal_passkey.cjs BASE_URL TOKEN [CHROMIUM [IDENTIFIER [EXPIRE]]]
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
  const [base, token, executable, identifier, expire] = process.argv.slice(2);
  const browser = await chromium.launch({
    executablePath: executable || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox"],
  });
  const problems = [];
  // Answers >= 400 the run expects ("422 /portal/uploads"): any other fails it.
  const expected = new Set();
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on("console", (m) => {
      // A failed load is judged by its status below (some are expected); any other error fails.
      if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) problems.push("console: " + m.text());
    });
    page.on("pageerror", (e) => problems.push("page error: " + e.message));
    page.on("response", (r) => {
      const seen = r.status() + " " + new URL(r.url()).pathname;
      if (r.status() >= 400 && !expected.has(seen)) problems.push(seen);
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
    let uploadRefused = "";
    let uploadCommitOffered = -1;
    let uploadPreview = "";
    let uploadStored = "";
    let expired = null;
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
      const patientUrl = page.url().split("?")[0];

      // A session's results as CSV: one bad row refuses the whole file, then fixed it is stored.
      const today = new Date().toISOString().slice(0, 10);
      const header = "identifier,date,checkup_type,weight,length,length_position\r\n";
      const upload = async (weight) => {
        await page.goto(base + "/portal/uploads?lang=en");
        await page.selectOption("select[name=form]", "child_checkup");
        const csv = header + `${identifier},${today},months_6_7,${weight},66.0,recumbent\r\n`;
        await page.setInputFiles("input[name=file]", { name: "session.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
        await Promise.all([page.waitForURL(/\/portal\/uploads$/), page.click("form.upload button[type=submit]")]);
        return (await page.textContent("main p[role=status]")) || "";
      };
      expected.add("422 /portal/uploads");
      uploadRefused = (await upload("heavy")).trim();
      if (shots) await page.screenshot({ path: shots + "/portal-upload-refused.png", fullPage: true });
      uploadCommitOffered = await page.locator("form.commit").count();
      uploadPreview = (await upload("7.2")).trim();
      await Promise.all([page.waitForURL(/\/portal\/uploads\/commit$/), page.click("form.commit button[type=submit]")]);
      uploadStored = ((await page.textContent("main p[role=status]")) || "").trim();
      axe = await accessibility(browser, context, [
        base + "/portal/signin",
        base + "/portal/",
        base + "/portal/patients?lang=en",
        base + "/portal/uploads?lang=en",
        base + "/portal/staff?lang=ja",
        base + "/portal/patients?lang=ja&identifier=" + encodeURIComponent(identifier),
        patientUrl + "?lang=en",
        patientUrl + "?lang=ja",
        patientUrl + "/results/child_checkup?lang=en",
        patientUrl + "/results/immunization?lang=ja",
      ]);
    }

    if (expire) {
      // Nothing happens for longer than the idle limit: the session is over.
      await page.waitForTimeout(62000);
      await page.goto(base + "/portal/patients");
      expired = page.url() === base + "/portal/signin";
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
        upload_refused: uploadRefused,
        upload_commit_offered: uploadCommitOffered,
        upload_preview: uploadPreview,
        upload_stored: uploadStored,
        expired,
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
