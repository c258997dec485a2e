(function () {
  function dec(s) { s = s.replace(/-/g, '+').replace(/_/g, '/'); while (s.length % 4) s += '=';
    var b = atob(s), u = new Uint8Array(b.length); for (var i = 0; i < b.length; i++) u[i] = b.charCodeAt(i); return u.buffer; }
  function enc(buf) { var u = new Uint8Array(buf), s = ''; for (var i = 0; i < u.length; i++) s += String.fromCharCode(u[i]);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''); }
  function say(el, text) { if (!el) return; el.textContent = text; el.hidden = !text; }
  async function post(url, body) {
    var r = await fetch(url, { method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json', 'Accept': 'application/json', 'x-csrf-token': (document.querySelector('meta[name=csrf-token]') || {}).content || '' }, body: JSON.stringify(body) });
    var j = {}; try { j = await r.json(); } catch (e) {}
    if (!r.ok) throw new Error(j.message || '操作失败，请重试'); return j;
  }
  function supported(msg) {
    if (window.PublicKeyCredential && navigator.credentials) return true;
    say(msg, '此设备或浏览器不支持指纹/通行密钥（需通过 HTTPS 访问），请使用密码或短信验证码'); return false;
  }
  function failed(msg, e) { say(msg, e && e.name === 'NotAllowedError' ? '已取消或超时，请重试' : (e && e.message) || '操作失败，请重试'); }
  var signin = document.getElementById('passkey-signin');
  if (signin) signin.addEventListener('click', async function () {
    var msg = document.getElementById('passkey-msg'); say(msg, '');
    if (!supported(msg)) return;
    signin.disabled = true;
    try {
      var id = document.getElementById('passkey-id').value.trim();
      var start = await post('/signin/passkey/start', { id: id || null });
      var pk = start.options.publicKey;
      pk.challenge = dec(pk.challenge);
      (pk.allowCredentials || []).forEach(function (c) { c.id = dec(c.id); });
      var cred = await navigator.credentials.get({ publicKey: pk });
      var r = cred.response;
      var done = await post('/signin/passkey/finish', { ceremony: start.ceremony, next: signin.dataset.next, credential: {
        id: cred.id, rawId: enc(cred.rawId), type: cred.type, extensions: cred.getClientExtensionResults(),
        response: { authenticatorData: enc(r.authenticatorData), clientDataJSON: enc(r.clientDataJSON),
          signature: enc(r.signature), userHandle: r.userHandle ? enc(r.userHandle) : null } } });
      location.href = done.next || '/';
    } catch (e) { failed(msg, e); } finally { signin.disabled = false; }
  });
  var reg = document.getElementById('passkey-register');
  if (reg) reg.addEventListener('click', async function () {
    var msg = document.getElementById('passkey-msg'); say(msg, '');
    if (!supported(msg)) return;
    reg.disabled = true;
    try {
      var start = await post('/account/passkey/start', {});
      var pk = start.options.publicKey;
      pk.challenge = dec(pk.challenge); pk.user.id = dec(pk.user.id);
      // Ask for a discoverable credential where the device can make one, so that the passkey
      // button signs in without typing the id (the server does not depend on it).
      pk.authenticatorSelection = Object.assign({}, pk.authenticatorSelection, { residentKey: 'preferred' });
      (pk.excludeCredentials || []).forEach(function (c) { c.id = dec(c.id); });
      var cred = await navigator.credentials.create({ publicKey: pk });
      var r = cred.response;
      await post('/account/passkey/finish', { ceremony: start.ceremony, credential: {
        id: cred.id, rawId: enc(cred.rawId), type: cred.type, extensions: cred.getClientExtensionResults(),
        response: { attestationObject: enc(r.attestationObject), clientDataJSON: enc(r.clientDataJSON),
          transports: r.getTransports ? r.getTransports() : undefined } } });
      location.href = '/account?done=passkey';
    } catch (e) { failed(msg, e); } finally { reg.disabled = false; }
  });
})();
