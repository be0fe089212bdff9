// socket.io's wire protocol as plain page JavaScript over a raw WebSocket, as any page can
// speak it with no library: the security tests run it inside a browser page (the
// attacker's, or a paired dashboard's) to see what the server lets through. Engine.IO 4:
// `0` open -> send `40` (connect); `2` ping -> `3` pong; requests go as `42<id>[event,
// payload]` and their acknowledgements come back as `43<id>[reply]`.

export interface PageSocketOutcome {
  readonly opened: boolean;
  /** How it ended: `answered`, `error`, `closed` or `timeout`. */
  readonly how: string;
  /** The server's acknowledgements, by request index. */
  readonly replies: unknown[];
}

/**
 * Defines `socketRequests(baseUrl, requests, options)` in the page: sends each
 * `[event, payload]` once connected and resolves when every request is answered or the
 * socket ends. Options: `timeoutMs`; `forFirstDevice`: wait for the server's `devices`
 * list and add its first device's `deviceId` to every payload.
 */
export const PAGE_SOCKET_SCRIPT = String.raw`
function socketRequests(baseUrl, requests, options) {
  return new Promise((resolve) => {
    const ws = new WebSocket(baseUrl.replace(/^http/, 'ws') + '/socket.io/?EIO=4&transport=websocket');
    const replies = [];
    let opened = false;
    let sent = false;
    let done = false;
    const finish = (how) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try { ws.close(); } catch {}
      resolve({ opened, how, replies });
    };
    const sendAll = (extra) => {
      sent = true;
      requests.forEach(([name, payload], index) => ws.send('42' + index + JSON.stringify([name, { ...extra, ...payload }])));
    };
    const timer = setTimeout(() => finish('timeout'), options.timeoutMs);
    ws.onopen = () => { opened = true; };
    ws.onerror = () => finish('error');
    ws.onclose = () => finish('closed');
    ws.onmessage = (event) => {
      const text = String(event.data);
      if (text === '2') { ws.send('3'); return; }
      if (text.startsWith('0')) { ws.send('40'); return; }
      if (text.startsWith('40')) {
        if (!options.forFirstDevice) sendAll({});
        return;
      }
      if (options.forFirstDevice && !sent && text.startsWith('42["devices"')) {
        sendAll({ deviceId: JSON.parse(text.slice(2))[1][0].deviceId });
        return;
      }
      const ack = /^43(\d+)(.*)$/s.exec(text);
      if (ack === null) return;
      replies[Number(ack[1])] = JSON.parse(ack[2])[0];
      if (replies.filter((reply) => reply !== undefined).length === requests.length) finish('answered');
    };
  });
}
`;
