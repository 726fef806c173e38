import { describePower, parseThrottled } from '../../daemon/health/throttling';

describe('parseThrottled', () => {
  it('reads 0x0 as all clear, with nothing to say', () => {
    const sut = parseThrottled('throttled=0x0\n');
    expect(sut).toEqual({
      raw: 0,
      underVoltage: false,
      frequencyCapped: false,
      throttled: false,
      softTempLimit: false,
      underVoltageOccurred: false,
      frequencyCappedOccurred: false,
      throttledOccurred: false,
      softTempLimitOccurred: false,
    });
    expect(describePower(sut!)).toEqual([]);
  });

  it('reads 0x50005 as under-voltage and throttling now and since boot, said once each', () => {
    const sut = parseThrottled('throttled=0x50005');
    expect(sut).toEqual({
      raw: 0x50005,
      underVoltage: true,
      frequencyCapped: false,
      throttled: true,
      softTempLimit: false,
      underVoltageOccurred: true,
      frequencyCappedOccurred: false,
      throttledOccurred: true,
      softTempLimitOccurred: false,
    });
    expect(describePower(sut!)).toEqual([
      'under-voltage now: check the power supply and cable',
      'CPU throttled now: it is too hot or the power is too weak; give the box shade, air or a heatsink',
    ]);
  });

  it('reads 0x80008 as the soft temperature limit now and since boot', () => {
    const sut = parseThrottled('throttled=0x80008');
    expect(sut).toMatchObject({ raw: 0x80008, softTempLimit: true, softTempLimitOccurred: true, underVoltage: false, throttled: false });
    expect(describePower(sut!)).toEqual(['soft temperature limit reached now: the CPU runs slower to cool down']);
  });

  it('tells what happened since boot but holds no more (0x50000)', () => {
    const sut = parseThrottled('throttled=0x50000');
    expect(describePower(sut!)).toEqual([
      'under-voltage happened since boot: the power supply or cable is marginal',
      'CPU was throttled since boot: it got too hot or the power too weak',
    ]);
  });

  it.each([
    '',
    'garbage',
    'VCHI initialization failed',
    'throttled=',
    'throttled=0x',
    'throttled=50005',
    'throttled=0xZZ',
    'throttled=0x50005 extra',
    'temp=48.3\'C',
  ])('returns null for %j', (text) => {
    expect(parseThrottled(text)).toBeNull();
  });
});
