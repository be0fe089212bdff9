/**
 * The serial transport: our firmware (protocol v1, device/PROTOCOL.md) on a serial port,
 * through the real `serialport` bindings. The first stage of the pipeline for a real
 * massager: it turns the device's `S` lines into `RawSample`s on the session timeline,
 * keeps the link's health in its status, and carries the host's feedback back to the
 * device (`LIMIT`, `ZONE`).
 *
 *   serial                      auto-detect: the first Knotmeter found (INFO -> HELLO) on any port
 *   serial?id=1a2b3c4d          auto-detect, only this device
 *   serial:/dev/ttyACM0         this port
 *   serial:PATH?baud=250000     another baud rate (the firmware's build-time option)
 *
 * A reboot keeps the session, an unplug retries with a backoff, and it never throws out of
 * an event (every failure ends in `lastError`): how, in docs/design/serial-link.md.
 */
import { DEVICE_ID_PATTERN } from '../device-id.ts';
import { DeviceSpecError, numberOption, rejectUnknownOptions, type DeviceSpec } from '../device-spec.ts';
import { CommandChannel, CommandRefusedError, type CommandReply, type RequestOptions } from '../protocol/command-channel.ts';
import { alarmCeilingRaw, RAW_RANGE, SENSOR_MAX_RATE_HZ, SEQ_MODULUS, type DeviceMessage, type FaultCode, type HelloMessage, type MarkMessage } from '../protocol/device-messages.ts';
import type { DropReason } from '../protocol/drop-reasons.ts';
import { FEEDBACK_ALL, hostCommandBody, LIMIT_RAW_MAX, RATE_MIN_HZ, type HostCommand } from '../protocol/host-commands.ts';
import { claimNamedPort, type PortClaim } from '../lifecycle/port-claims.ts';
import { PortFinder, type ProbeAnswer } from '../lifecycle/port-finder.ts';
import { RECONNECT_MAX_DELAY_MS, ReconnectLoop } from '../lifecycle/reconnect-loop.ts';
import { DEFAULT_PROBE_TIMEOUT_MS, probePort, type ListedPort } from '../protocol/port-discovery.ts';
import { DEFAULT_BAUD_RATE, SerialLink, type SerialLinkHandlers } from '../protocol/serial-link.ts';
import { SessionTimeline } from '../protocol/session-timeline.ts';
import { LIVE_DEVICE, type DeviceFeedback, type DeviceMark, type DeviceZone, type RawSample, type SensorKind, type Transport, type TransportListener, type TransportStatus } from '../transport.ts';

export interface SerialTransportOptions {
  /** The port, or null to auto-detect. */
  readonly path: string | null;
  readonly baudRate: number;
  /** Auto-detect only: take only this device. */
  readonly deviceId: string | null;
  /** Auto-detect: names scanned besides SerialPort.list() (default DEFAULT_SCAN_PATTERNS). */
  readonly scanPatterns?: readonly string[];
  /** Auto-detect: the port lister (default SerialPort.list). */
  readonly listPorts?: () => Promise<readonly ListedPort[]>;
  /** How long a probed port has to answer INFO (default 2.5 s: an Arduino resets on open). */
  readonly probeTimeoutMs?: number;
  /** Longest wait between two reconnect attempts (default 500 ms, 1000 ms for auto-detect). */
  readonly reconnectMaxDelayMs?: number;
  /** Per command: how long to wait for ACK/NAK, and how many times to send it. */
  readonly replyTimeoutMs?: number;
  readonly attempts?: number;
}

/** Events from the device that are not samples, for whoever wants them (tests, the lead's wiring). */
export type SerialDeviceEvent =
  /** The device's own over-pressure alarm switched; `deviceTimeUs` on the session timeline (null right after a reboot). */
  | { readonly type: 'alarm'; readonly on: boolean; readonly deviceTimeUs: number | null; readonly raw: number }
  | { readonly type: 'fault'; readonly code: FaultCode }
  /** The device said who it is: on attach (`boot` false) or unasked after booting (`boot` true). */
  | { readonly type: 'hello'; readonly hello: HelloMessage; readonly boot: boolean }
  /** The device restarted; the session goes on. */
  | { readonly type: 'reboot'; readonly detectedBy: 'hello' | 'seq' }
  /** The over-pressure limit asked for is above the device's alarm ceiling: the device got the ceiling instead. */
  | { readonly type: 'ceiling'; readonly requestedOnRaw: number; readonly ceilingRaw: number }
  | { readonly type: 'attached'; readonly path: string }
  | { readonly type: 'disconnected'; readonly reason: string };

const AUTO_DETECT_PATH_LABEL = 'serial (auto-detect)';
/** INFO on attach: enough attempts to cover an Arduino's bootloader after the port opens. */
const ATTACH_INFO_ATTEMPTS = 8;
/** Samples kept while waiting for HELLO (about 1 s at 1000 Hz); older ones are dropped as `no-hello`. */
const MAX_SAMPLES_BEFORE_HELLO = 1000;
/** Counter-only status changes (drops, losses) are reported at most this often. */
const STATUS_THROTTLE_MS = 250;
const DEFAULT_RATE_HZ = 100;

const FAULT_EXPLANATIONS: Record<FaultCode, string> = {
  nodata: 'the HX711 has not answered for 500 ms (check its wiring)',
  rail: 'the FSR reads full scale for over 1 s (a short, or a disconnected ground resistor)',
};

/** Devices attached to the serial transports of this process, so auto-detect takes each once. */
const attachedDeviceIds = new Set<string>();

/** Validates a `serial[:PATH][?baud=N&id=HEX]` spec; throws DeviceSpecError naming what is wrong. */
export function parseSerialSpec(spec: DeviceSpec): SerialTransportOptions {
  rejectUnknownOptions(spec, ['baud', 'id']);
  const baudRate = numberOption(spec, 'baud', 300, 4_000_000, DEFAULT_BAUD_RATE);
  if (!Number.isInteger(baudRate)) throw new DeviceSpecError(`device spec "${spec.text}": baud=${baudRate} is not a whole number`);
  const deviceId = spec.options.get('id') ?? null;
  if (deviceId !== null && !DEVICE_ID_PATTERN.test(deviceId)) {
    throw new DeviceSpecError(`device spec "${spec.text}": id=${deviceId} is not a device id (8 lowercase hex digits, as \`npm run ports\` shows)`);
  }
  if (deviceId !== null && spec.target !== null) {
    throw new DeviceSpecError(`device spec "${spec.text}": id= picks a device during auto-detect (serial?id=${deviceId}); with a port path, drop it`);
  }
  return { path: spec.target, baudRate, deviceId };
}

export class SerialTransport implements Transport {
  readonly spec: string;
  readonly capabilities = LIVE_DEVICE;
  readonly feedback: DeviceFeedback;
  readonly #options: SerialTransportOptions;
  #listener: TransportListener | null = null;
  #stopping = false;
  #state: TransportStatus['state'] = 'stopped';
  #lastError: string | null = null;
  #link: SerialLink | null = null;
  /** A port found by auto-detect, held while the link is open (lifecycle/port-claims.ts). */
  #claim: PortClaim | null = null;
  /** A port named in the spec, held from the first attempt until the transport stops: nobody here probes it meanwhile. */
  #namedClaim: PortClaim | null = null;
  #channel: CommandChannel | null = null;
  /** The last HELLO (kept in step with ACKed RATE/LIMIT). */
  #identity: HelloMessage | null = null;
  /** Auto-detect: once a device has been found, only it is taken again. */
  #lockedDeviceId: string | null;
  #timeline: SessionTimeline | null = null;
  #awaitingHello = true;
  #samplesBeforeHello: { message: DeviceMessage; hostUs: number }[] = [];
  #samplesSinceAttach = 0;
  /** A HELLO announced the reboot: the new run's first sample does not start a second restore. */
  #rebootAnnounced = false;
  #samples = 0;
  #lostSamples = 0;
  readonly #dropped: Partial<Record<DropReason, number>> = {};
  #batch: RawSample[] = [];
  #flushScheduled = false;
  #statusTimer: NodeJS.Timeout | null = null;
  readonly #reconnect: ReconnectLoop;
  /** Auto-detect (no path): the shared policy, asking each port INFO. */
  readonly #finder: PortFinder<SerialLink> | null;
  readonly #deviceListeners = new Set<(event: SerialDeviceEvent) => void>();
  /** What the host asked the device for: sent again after every attach and reboot. */
  readonly #wanted: { streaming: boolean; rateHz: number | null; feedbackMask: number | null; limit: { onRaw: number; offRaw: number } | null; zone: DeviceZone | null } = {
    streaming: true,
    rateHz: null,
    feedbackMask: null,
    limit: null,
    zone: null,
  };
  /** Why and since when the device has been away (null while attached, or before the first attempt). */
  #detachedSince: { reason: string; atMs: number } | null = null;
  /** The zone the device has ACKed since it last attached or booted. */
  #appliedZone: DeviceZone | null = null;
  /** The last "limit above the ceiling" report, so each is made once, not at every restore. */
  #ceilingNotice: string | null = null;
  /** The last MARK passed on: its wire number, the device run it came in (the timeline's reboots), its session number. */
  #lastMark: { wireSeq: number; reboots: number; seq: number } | null = null;
  /** MARKs that came before any sample of their run: nothing places them on the session's clock yet. */
  #marksToPlace: MarkMessage[] = [];

  constructor(options: SerialTransportOptions) {
    this.#options = options;
    this.#lockedDeviceId = options.deviceId;
    const query = [`baud=${options.baudRate}`, ...(options.deviceId === null ? [] : [`id=${options.deviceId}`])].join('&');
    this.spec = `serial${options.path === null ? '' : `:${options.path}`}?${query}`;
    this.feedback = {
      setOverLimit: (onRaw, offRaw) => this.#setOverLimit(onRaw, offRaw),
      setZone: (zone) => this.#setZone(zone),
    };
    const autoDetect = options.path === null;
    this.#reconnect = new ReconnectLoop({
      maxDelayMs: options.reconnectMaxDelayMs ?? (autoDetect ? RECONNECT_MAX_DELAY_MS.autoDetect : RECONNECT_MAX_DELAY_MS.path),
      attempt: () => this.#connectOnce(),
    });
    this.#finder = autoDetect ? this.#knotmeterFinder() : null;
  }

  status(): TransportStatus {
    const identity = this.#identity;
    return {
      state: this.#state,
      deviceId: identity?.deviceId ?? this.#options.path ?? AUTO_DETECT_PATH_LABEL,
      sensor: identity?.sensor ?? 'fsr',
      clock: 'device',
      firmware: identity === null ? '' : `knotmeter ${identity.firmwareVersion}`,
      nominalRateHz: identity?.rateHz ?? DEFAULT_RATE_HZ,
      ...(identity === null ? {} : { alarmCeilingRaw: alarmCeilingRaw(identity) }),
      samples: this.#samples,
      lostSamples: this.#lostSamples,
      droppedLines: { ...this.#dropped },
      lastError: this.#lastError,
    };
  }

  /** The device's id once it has said HELLO, or null. */
  get deviceId(): string | null {
    return this.#identity?.deviceId ?? null;
  }

  /** The port in use, or null while detached. */
  get path(): string | null {
    return this.#link?.path ?? null;
  }

  /** Reboots seen in this session. */
  get reboots(): number {
    return this.#timeline?.reboots ?? 0;
  }

  /** Listens to alarms, faults, HELLOs, reboots and link changes; returns a function that unsubscribes. */
  onDeviceEvent(listener: (event: SerialDeviceEvent) => void): () => void {
    this.#deviceListeners.add(listener);
    return () => this.#deviceListeners.delete(listener);
  }

  async start(listener: TransportListener): Promise<void> {
    if (this.#listener !== null) throw new Error(`${this.spec} is already started`);
    this.#listener = listener;
    this.#stopping = false;
    this.#setState('connecting');
    await this.#reconnect.start();
  }

  async stop(): Promise<void> {
    if (this.#listener === null) return;
    this.#stopping = true;
    this.#reconnect.stop();
    this.#channel?.cancelAll('the transport stopped');
    this.#flush();
    const link = this.#link;
    const claim = this.#detach();
    await link?.close();
    claim?.release();
    this.#namedClaim?.release();
    this.#namedClaim = null;
    if (this.#statusTimer !== null) clearTimeout(this.#statusTimer);
    this.#statusTimer = null;
    if (this.#identity !== null) attachedDeviceIds.delete(this.#identity.deviceId);
    this.#setState('stopped');
    this.#listener = null;
  }

  // ---------------------------------------------------------------- commands

  /** Sets the device's sample rate (10 Hz up to what its sensor and link allow); remembered across reconnects. */
  async setRate(rateHz: number): Promise<void> {
    const maxHz = this.#identity === null ? 1000 : SENSOR_MAX_RATE_HZ[this.#identity.sensor];
    if (!Number.isInteger(rateHz) || rateHz < RATE_MIN_HZ || rateHz > maxHz) {
      throw new RangeError(`sample rate ${rateHz} Hz: must be a whole number from ${RATE_MIN_HZ} to ${maxHz} Hz for this device`);
    }
    const previousHz = this.#identity?.rateHz ?? null;
    const previousWanted = this.#wanted.rateHz;
    this.#wanted.rateHz = rateHz;
    // Samples at the new rate may come before the ACK: both periods are accepted meanwhile.
    this.#timeline?.setRate(rateHz);
    try {
      await this.#request({ type: 'RATE', rateHz }, { coalesce: true });
    } catch (error) {
      if (previousHz !== null) this.#timeline?.setRate(previousHz);
      // A value the device refuses would only be refused again on the next attach.
      if (error instanceof CommandRefusedError) this.#wanted.rateHz = previousWanted;
      throw error;
    }
    if (this.#identity !== null) this.#identity = { ...this.#identity, rateHz };
    this.#emitStatus();
  }

  /** Starts or stops the sample lines; the jump in `seq` when they resume is not counted as lost. */
  async setStreaming(on: boolean): Promise<void> {
    await this.#request({ type: 'STREAM', on });
    this.#wanted.streaming = on;
    if (!on) this.#timeline?.pauseStreaming();
  }

  /** Which outputs the device's own alarm drives (FEEDBACK_LED | FEEDBACK_VIBRATION | FEEDBACK_BUZZER); remembered. */
  async setFeedbackMask(mask: number): Promise<void> {
    if (!Number.isInteger(mask) || mask < 0 || mask > FEEDBACK_ALL) throw new RangeError(`feedback mask ${mask}: must be a whole number from 0 to ${FEEDBACK_ALL}`);
    const previousWanted = this.#wanted.feedbackMask;
    this.#wanted.feedbackMask = mask;
    try {
      await this.#request({ type: 'FEEDBACK', mask }, { coalesce: true });
    } catch (error) {
      if (error instanceof CommandRefusedError) this.#wanted.feedbackMask = previousWanted;
      throw error;
    }
  }

  /** hx711: re-zero the offset from 16 samples (fsr: nothing to do, the device ACKs). */
  async tare(): Promise<void> {
    await this.#request({ type: 'TARE' });
  }

  async #setOverLimit(onRaw: number, offRaw: number): Promise<void> {
    const sensor: SensorKind | null = this.#identity?.sensor ?? null;
    const maxRaw = sensor === null ? LIMIT_RAW_MAX : RAW_RANGE[sensor].max;
    if (!Number.isInteger(onRaw) || !Number.isInteger(offRaw) || !(offRaw >= 0 && offRaw < onRaw && onRaw <= maxRaw)) {
      throw new RangeError(
        `over-pressure limit on=${onRaw} off=${offRaw} raw: needs whole numbers with 0 <= off < on <= ${maxRaw}${sensor === null ? '' : ` (${sensor})`} ` +
          "(convert newtons with calibration.toRaw); the device's own alarm cannot be turned off",
      );
    }
    const previousWanted = this.#wanted.limit;
    this.#wanted.limit = { onRaw, offRaw };
    const sent = this.#limitWithinCeiling(this.#wanted.limit);
    try {
      await this.#request({ type: 'LIMIT', ...sent }, { coalesce: true });
    } catch (error) {
      if (error instanceof CommandRefusedError) this.#wanted.limit = previousWanted;
      throw error;
    }
    if (this.#identity !== null) this.#identity = { ...this.#identity, limitOnRaw: sent.onRaw, limitOffRaw: sent.offRaw };
  }

  /**
   * The thresholds to send: the ones asked for, or, when `on` is above the device's alarm
   * ceiling (which firmware 1.2.0 refuses, `NAK,LIMIT,ceiling`), the ceiling with the same
   * hysteresis below it. Said once in lastError and as a `ceiling` device event; the
   * device then sounds at its ceiling while the host's own alarm keeps the preset's limit.
   */
  #limitWithinCeiling(limit: { onRaw: number; offRaw: number }): { onRaw: number; offRaw: number } {
    const identity = this.#identity;
    if (identity === null) return limit;
    const ceilingRaw = alarmCeilingRaw(identity);
    if (limit.onRaw <= ceilingRaw) {
      this.#ceilingNotice = null;
      return limit;
    }
    const gap = limit.onRaw - limit.offRaw;
    const clamped = { onRaw: ceilingRaw, offRaw: Math.max(0, Math.min(limit.offRaw, ceilingRaw - gap)) };
    const notice =
      `the over-pressure limit (${limit.onRaw} counts) is above device ${identity.deviceId}'s alarm ceiling (${ceilingRaw} counts): ` +
      `its own alarm sounds at the ceiling; the host still warns at the preset's limit`;
    if (notice !== this.#ceilingNotice) {
      this.#ceilingNotice = notice;
      this.#lastError = notice;
      this.#emitDeviceEvent({ type: 'ceiling', requestedOnRaw: limit.onRaw, ceilingRaw });
      this.#emitStatus();
    }
    return clamped;
  }

  async #setZone(zone: DeviceZone): Promise<void> {
    if (![0, 1, 2, 3].includes(zone)) throw new RangeError(`zone ${String(zone)}: must be 0 (below), 1 (band), 2 (above) or 3 (over)`);
    this.#wanted.zone = zone;
    if (this.#appliedZone === zone && this.#attached()) return;
    await this.#request({ type: 'ZONE', zone }, { coalesce: true });
    this.#appliedZone = zone;
  }

  /** A method, not the field: TypeScript would keep a check of the field narrowed across an await. */
  #isStopping(): boolean {
    return this.#stopping;
  }

  #attached(): boolean {
    return this.#state === 'connected' && this.#channel !== null && !this.#awaitingHello;
  }

  async #request(command: HostCommand, options: RequestOptions = {}): Promise<CommandReply> {
    if (!this.#attached() || this.#channel === null) {
      const remembered = command.type === 'LIMIT' || command.type === 'ZONE' || command.type === 'RATE' || command.type === 'FEEDBACK';
      throw new Error(
        `${hostCommandBody(command)} not sent: ${this.#describeDevice()} is ${this.#state === 'connected' ? 'not ready' : this.#state}` +
          (remembered ? '; it will be sent when the device attaches' : '; try again once it is connected'),
      );
    }
    return this.#channel.request(command, options);
  }

  #describeDevice(): string {
    const id = this.#identity?.deviceId;
    const where = this.#link?.path ?? this.#options.path;
    return `${id === undefined ? 'the device' : `device ${id}`}${where === null ? '' : ` on ${where}`}`;
  }

  // ---------------------------------------------------------------- attaching

  /** One attempt to open (or find) the port and hear HELLO; true once attached. */
  async #connectOnce(): Promise<boolean> {
    let link: SerialLink | null = null;
    let claim: PortClaim | null = null;
    try {
      if (this.#finder === null) {
        const path = this.#options.path ?? '';
        this.#namedClaim ??= claimNamedPort(path, this.spec);
        link = await SerialLink.open(path, this.#options.baudRate, this.#linkHandlers());
      } else {
        ({ found: link, claim } = await this.#finder.find());
      }
      if (this.#isStopping()) {
        await link.close();
        claim?.release();
        return false;
      }
      link.setHandlers(this.#linkHandlers());
      if (!link.isOpen) throw new Error(`${link.path} closed right after it opened`);
      this.#attach(link, claim);
      const channel = this.#channel;
      if (channel === null) return false;
      // The HELLO itself is handled as it arrives (#onMessage); this only waits for it.
      await channel.request({ type: 'INFO' }, { attempts: ATTACH_INFO_ATTEMPTS });
      if (this.#isStopping() || this.#link !== link) return false;
      if (this.#detachedSince !== null) {
        // Keep why it was away, and say it is over: the status shows link health, not a stale alarm.
        const awayS = ((performance.now() - this.#detachedSince.atMs) / 1000).toFixed(1);
        this.#lastError = `${this.#detachedSince.reason}; back on ${link.path} after ${awayS} s`;
        this.#detachedSince = null;
      }
      this.#setState('connected');
      this.#emitDeviceEvent({ type: 'attached', path: link.path });
      void this.#restoreDeviceState();
      return true;
    } catch (error) {
      if (this.#isStopping()) return false;
      const reason = error instanceof Error ? error.message : String(error);
      this.#lastError = this.#awaitingHello && link !== null && this.#link === link ? this.#noHelloMessage(link, reason) : reason;
      if (link !== null && this.#link === link) this.#detach();
      // Closed before its port is given up (idempotent when the link's loss closed it already).
      await link?.close();
      claim?.release();
      // While away, lastError shows the latest attempt; what made it go away is kept for the return.
      this.#detachedSince ??= { reason: this.#lastError, atMs: performance.now() };
      this.#setState('disconnected');
      return false;
    }
  }

  #noHelloMessage(link: SerialLink, reason: string): string {
    return (
      `no HELLO from ${link.path} at ${link.baudRate} baud (${reason}); is a Knotmeter (protocol v1) on it? ` +
      'If its firmware was built for another baud rate, add ?baud=N to the device spec'
    );
  }

  #attach(link: SerialLink, claim: PortClaim | null): void {
    this.#link = link;
    this.#claim = claim;
    this.#awaitingHello = true;
    this.#samplesBeforeHello = [];
    this.#samplesSinceAttach = 0;
    this.#appliedZone = null;
    this.#channel = new CommandChannel({
      send: (line) => link.write(line),
      describeDevice: () => this.#describeDevice(),
      ...(this.#options.replyTimeoutMs === undefined ? {} : { replyTimeoutMs: this.#options.replyTimeoutMs }),
      ...(this.#options.attempts === undefined ? {} : { attempts: this.#options.attempts }),
    });
  }

  /** Forgets the link; returns its port's claim, to release once the link is closed. */
  #detach(): PortClaim | null {
    const claim = this.#claim;
    this.#claim = null;
    this.#link = null;
    this.#channel = null;
    this.#awaitingHello = true;
    return claim;
  }

  #linkHandlers(): SerialLinkHandlers {
    return {
      onMessage: (message) => this.#onMessage(message),
      onDrop: (reason) => this.#countDrop(reason),
      onClose: (reason) => this.#onLinkLost(reason),
    };
  }

  /** Auto-detect: a Knotmeter that answers INFO on a port nobody here holds (the same id once locked). */
  #knotmeterFinder(): PortFinder<SerialLink> {
    const options = this.#options;
    const wantedText = (): string => (this.#lockedDeviceId === null ? 'free Knotmeter' : `Knotmeter ${this.#lockedDeviceId}`);
    return new PortFinder<SerialLink>({
      holder: this.spec,
      ...(options.scanPatterns === undefined ? {} : { patterns: options.scanPatterns }),
      ...(options.listPorts === undefined ? {} : { listPorts: options.listPorts }),
      probe: (port) => this.#askInfo(port.path),
      discard: (link) => link.close(),
      whenNoPort: () =>
        `plug the massager in${this.#lockedDeviceId === null ? '' : ` (device ${this.#lockedDeviceId})`}, or name its port: --device serial:/dev/ttyACM0`,
      noAnswer: (answers) =>
        `no ${wantedText()} answered INFO at ${options.baudRate} baud (${answers}); check that it is plugged in and running the Knotmeter firmware`,
    });
  }

  async #askInfo(path: string): Promise<ProbeAnswer<SerialLink>> {
    const probe = await probePort(path, { baudRate: this.#options.baudRate, timeoutMs: this.#options.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS, keepOpen: true });
    if (probe.error !== null) return { kind: 'failed', note: probe.error };
    if (probe.hello === null) return { kind: 'silent', note: 'no HELLO' };
    const id = probe.hello.deviceId;
    const wanted = this.#lockedDeviceId;
    const fits = wanted === null ? !attachedDeviceIds.has(id) : id === wanted;
    if (fits && probe.link !== null) return { kind: 'found', found: probe.link };
    await probe.link?.close();
    return { kind: 'other', note: `device ${id}` };
  }

  #onLinkLost(reason: string): void {
    if (this.#isStopping()) return;
    this.#flush();
    this.#channel?.cancelAll(reason);
    // The link closed itself: its port is free.
    this.#detach()?.release();
    this.#lastError = `${reason}; reconnecting`;
    this.#detachedSince = { reason, atMs: performance.now() };
    this.#setState('disconnected');
    this.#emitDeviceEvent({ type: 'disconnected', reason });
    this.#reconnect.lost();
  }

  /** Sends again what the host asked for: after an attach or a reboot the device may have forgotten it. */
  async #restoreDeviceState(): Promise<void> {
    const wanted = this.#wanted;
    const commands: HostCommand[] = [{ type: 'STREAM', on: wanted.streaming }];
    if (wanted.rateHz !== null && wanted.rateHz !== this.#identity?.rateHz) commands.push({ type: 'RATE', rateHz: wanted.rateHz });
    if (wanted.feedbackMask !== null) commands.push({ type: 'FEEDBACK', mask: wanted.feedbackMask });
    if (wanted.limit !== null) commands.push({ type: 'LIMIT', ...this.#limitWithinCeiling(wanted.limit) });
    if (wanted.zone !== null) commands.push({ type: 'ZONE', zone: wanted.zone });
    for (const command of commands) {
      const channel = this.#channel;
      if (channel === null || this.#isStopping()) return;
      try {
        if (command.type === 'RATE') this.#timeline?.setRate(command.rateHz);
        await channel.request(command, { coalesce: true });
        if (command.type === 'ZONE') this.#appliedZone = command.zone;
        if (command.type === 'RATE' && this.#identity !== null) this.#identity = { ...this.#identity, rateHz: command.rateHz };
        if (command.type === 'LIMIT' && this.#identity !== null) this.#identity = { ...this.#identity, limitOnRaw: command.onRaw, limitOffRaw: command.offRaw };
      } catch (error) {
        if (this.#isStopping() || this.#channel !== channel) return;
        this.#lastError = `could not restore the device's settings: ${error instanceof Error ? error.message : String(error)}`;
        this.#emitStatus();
      }
    }
    this.#emitStatus();
  }

  // ---------------------------------------------------------------- receiving

  #onMessage(message: DeviceMessage): void {
    const hostUs = performance.now() * 1000;
    if (this.#channel?.handle(message) === true) {
      if (message.type === 'HELLO') this.#learnIdentity(message, false);
      return;
    }
    switch (message.type) {
      case 'HELLO':
        this.#onBootHello(message);
        return;
      case 'S':
      case 'ALARM':
      case 'MARK':
        if (this.#awaitingHello) this.#keepUntilHello(message, hostUs);
        else this.#accept(message, hostUs);
        return;
      case 'FAULT':
        this.#lastError = `sensor fault on ${this.#describeDevice()}: ${message.code}: ${FAULT_EXPLANATIONS[message.code]}`;
        this.#emitDeviceEvent({ type: 'fault', code: message.code });
        this.#emitStatus();
        return;
      case 'ACK':
      case 'NAK':
        return; // a late reply to a command already settled (timed out and answered by a retry)
    }
  }

  /** The device says who it is: on attach, in reply to INFO; after a reboot, unasked. */
  #learnIdentity(hello: HelloMessage, boot: boolean): void {
    const previous = this.#identity;
    if (previous !== null && previous.deviceId !== hello.deviceId) {
      // Another massager on this port: its counters say nothing about the last one's.
      this.#timeline = null;
      attachedDeviceIds.delete(previous.deviceId);
      this.#lastError = `device ${hello.deviceId} answered on ${this.#link?.path ?? 'the port'} in place of device ${previous.deviceId}`;
    }
    this.#identity = hello;
    attachedDeviceIds.add(hello.deviceId);
    if (this.#options.path === null) this.#lockedDeviceId = hello.deviceId;
    if (this.#link !== null) this.#link.sensor = hello.sensor;
    if (this.#timeline === null) this.#timeline = new SessionTimeline(hello.rateHz);
    else this.#timeline.setRate(hello.rateHz);
    if (boot) this.#timeline.announceReboot();
    this.#emitDeviceEvent({ type: 'hello', hello, boot });
    if (this.#awaitingHello) {
      this.#awaitingHello = false;
      const waiting = this.#samplesBeforeHello;
      this.#samplesBeforeHello = [];
      for (const { message, hostUs } of waiting) this.#accept(message, hostUs);
    }
    this.#emitStatus();
  }

  #onBootHello(hello: HelloMessage): void {
    const attached = this.#state === 'connected';
    this.#learnIdentity(hello, attached);
    if (!attached) return;
    this.#rebootAnnounced = true;
    if (this.#samplesSinceAttach === 0) {
      // The reset that opening the port causes (an Uno's DTR, the emulator): part of
      // attaching, not news. The settings just sent may have been lost in it: again.
      this.#appliedZone = null;
      void this.#restoreDeviceState();
      return;
    }
    this.#onReboot('hello');
  }

  #onReboot(detectedBy: 'hello' | 'seq'): void {
    this.#appliedZone = null;
    this.#lastError = `${this.#describeDevice()} restarted (${detectedBy === 'hello' ? 'it said HELLO unasked' : 'its sample counter restarted'}); the session goes on, settings sent again`;
    this.#emitDeviceEvent({ type: 'reboot', detectedBy });
    this.#emitStatus();
    void this.#restoreAfterReboot(detectedBy);
  }

  async #restoreAfterReboot(detectedBy: 'hello' | 'seq'): Promise<void> {
    const channel = this.#channel;
    if (detectedBy === 'seq' && channel !== null) {
      // No HELLO was heard: ask for one, the firmware or its settings may have changed.
      try {
        await channel.request({ type: 'INFO' }); // its HELLO is learned as it arrives (#onMessage)
      } catch (error) {
        if (this.#channel !== channel || this.#isStopping()) return;
        this.#lastError = `after a restart, ${error instanceof Error ? error.message : String(error)}`;
        this.#emitStatus();
      }
    }
    await this.#restoreDeviceState();
  }

  #keepUntilHello(message: DeviceMessage, hostUs: number): void {
    this.#samplesBeforeHello.push({ message, hostUs });
    if (this.#samplesBeforeHello.length > MAX_SAMPLES_BEFORE_HELLO) {
      this.#samplesBeforeHello.shift();
      this.#countDrop('no-hello');
    }
  }

  #accept(message: DeviceMessage, hostUs: number): void {
    const identity = this.#identity;
    const timeline = this.#timeline;
    if (identity === null || timeline === null) return;
    if (message.type === 'MARK') {
      this.#marksToPlace.push(message);
      this.#placeMarks(timeline);
      return;
    }
    if (message.type !== 'S' && message.type !== 'ALARM') return;
    const range = RAW_RANGE[identity.sensor];
    // Lines kept before HELLO were checked against any sensor; now the device's own range applies.
    if (message.raw < range.min || message.raw > range.max) {
      this.#countDrop('range');
      return;
    }
    if (message.type === 'ALARM') {
      this.#emitDeviceEvent({ type: 'alarm', on: message.on, deviceTimeUs: timeline.placeEvent(message.tUs), raw: message.raw });
      return;
    }
    const placed = timeline.place(message.seq, message.tUs, hostUs);
    const announced = this.#rebootAnnounced;
    this.#rebootAnnounced = false; // a HELLO announces the run this sample belongs to, whatever its epoch
    // Right after an attach the restore is already on its way (an Arduino resets when its port opens).
    if (placed.epoch === 'reboot' && !announced && this.#samplesSinceAttach > 0) this.#onReboot('seq');
    this.#samplesSinceAttach++;
    this.#samples++;
    if (placed.lostBefore > 0) {
      this.#lostSamples += placed.lostBefore;
      this.#statusSoon();
    }
    this.#batch.push({ deviceId: identity.deviceId, seq: placed.seq, deviceTimeUs: placed.deviceTimeUs, raw: message.raw });
    if (this.#marksToPlace.length > 0) this.#placeMarks(timeline);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      // Lines that arrived in one chunk go downstream as one batch.
      queueMicrotask(() => this.#flush());
    }
  }

  /**
   * Passes on the MARKs that the timeline can place (after the samples already batched, so
   * a listener has the readings up to it), numbered for the session: within a run of the
   * device, a step of n in the wire number is n - 1 presses lost; in a new run (the device
   * restarted) its number counts the presses lost since its boot.
   */
  #placeMarks(timeline: SessionTimeline): void {
    const identity = this.#identity;
    while (identity !== null && this.#marksToPlace.length > 0) {
      const message = this.#marksToPlace[0];
      const deviceTimeUs = message === undefined ? null : timeline.placeEvent(message.tUs);
      if (message === undefined || deviceTimeUs === null) return;
      this.#marksToPlace.shift();
      const last = this.#lastMark;
      let lostBefore = 0;
      if (last !== null && last.reboots !== timeline.reboots) lostBefore = message.seq;
      else if (last !== null) lostBefore = Math.max(0, ((message.seq - last.wireSeq + SEQ_MODULUS) % SEQ_MODULUS) - 1);
      const seq = last === null ? 0 : last.seq + 1 + lostBefore;
      this.#lastMark = { wireSeq: message.seq, reboots: timeline.reboots, seq };
      if (lostBefore > 0) {
        this.#lastError = `${lostBefore} thumb-button press${lostBefore === 1 ? '' : 'es'} of ${this.#describeDevice()} never arrived (its MARK numbers jumped to ${message.seq})`;
        this.#statusSoon();
      }
      const mark: DeviceMark = { deviceId: identity.deviceId, seq, deviceTimeUs, lostBefore };
      this.#flush();
      this.#toListener((listener) => listener.onMark?.(mark));
    }
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#batch.length === 0) return;
    const batch = this.#batch;
    this.#batch = [];
    this.#toListener((listener) => listener.onSamples(batch));
  }

  /** Calls the listener; a listener that throws must not take the link down with it (this runs in stream callbacks). */
  #toListener(call: (listener: TransportListener) => void): void {
    const listener = this.#listener;
    if (listener === null) return;
    try {
      call(listener);
    } catch (error) {
      this.#lastError = `the pipeline failed on this device's data: ${error instanceof Error ? error.message : String(error)}`;
    }
  }

  #countDrop(reason: DropReason): void {
    this.#dropped[reason] = (this.#dropped[reason] ?? 0) + 1;
    this.#statusSoon();
  }

  // ---------------------------------------------------------------- status

  #setState(state: TransportStatus['state']): void {
    this.#state = state;
    this.#emitStatus();
  }

  #emitStatus(): void {
    if (this.#statusTimer !== null) clearTimeout(this.#statusTimer);
    this.#statusTimer = null;
    this.#toListener((listener) => listener.onStatus(this.status()));
  }

  /** Counter changes (drops, losses): one status within STATUS_THROTTLE_MS, however many happen. */
  #statusSoon(): void {
    if (this.#statusTimer !== null || this.#listener === null) return;
    this.#statusTimer = setTimeout(() => {
      this.#statusTimer = null;
      this.#toListener((listener) => listener.onStatus(this.status()));
    }, STATUS_THROTTLE_MS);
  }

  #emitDeviceEvent(event: SerialDeviceEvent): void {
    for (const listener of this.#deviceListeners) {
      try {
        listener(event);
      } catch (error) {
        this.#lastError = `a device event listener failed on ${event.type}: ${error instanceof Error ? error.message : String(error)}`;
      }
    }
  }
}
