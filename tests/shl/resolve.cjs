// Resolves a SMART Health Link with an SHL receiver no one here wrote: the npm package
// kill-the-clipboard (its SHLViewer: payload parsing, manifest request, file fetch and
// JWE decryption). Used by tests/tests/emergency_card_e2e.rs; .ci/run installs the
// package (pinned) and names its directory in PHR_SHL_VIEWER_DIR.
//
//   node resolve.cjs SHLINK RECIPIENT PASSCODE EMBEDDED_LENGTH_MAX
//
// PASSCODE and EMBEDDED_LENGTH_MAX may be empty. Prints one JSON line:
// {"ok":true,"manifestStatus":…,"resources":[…]} or {"ok":false,"error":<error class>,"message":…}.
const path = require('path');
const { SHLViewer } = require(path.join(process.env.PHR_SHL_VIEWER_DIR, 'node_modules', 'kill-the-clipboard'));

async function main() {
  const [shlink, recipient, passcode, embeddedMax] = process.argv.slice(2);
  const viewer = new SHLViewer({ shlinkURI: shlink });
  const params = { recipient };
  if (passcode) params.passcode = passcode;
  if (embeddedMax) params.embeddedLengthMax = Number(embeddedMax);
  try {
    const resolved = await viewer.resolveSHL(params);
    console.log(JSON.stringify({ ok: true, manifestStatus: resolved.manifest.status, resources: resolved.fhirResources }));
  } catch (e) {
    console.log(JSON.stringify({ ok: false, error: e.constructor.name, message: String(e.message) }));
  }
}

main();
