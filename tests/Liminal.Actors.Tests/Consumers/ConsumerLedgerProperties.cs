using CsCheck;
using Liminal.Actors.Consumers;

namespace Liminal.Actors.Tests.Consumers;

/// <summary>
/// A durable consumer's ledger (SPEC §2.6) driven by random runs of reads, dispatches, acks, naks, expiries, members
/// stopping and restarts, against a model of what the consumer owes: nothing done is sent again, nothing is out twice,
/// at most <c>MaxAckPending</c> are out, attempts count up by one and never past <c>MaxDeliver</c>, the floor is the
/// highest contiguous done message, and after every run each message read is either acked or dead-lettered once the
/// members drain it — also across restarts that rebuild the ledger from its durable facts alone.
/// </summary>
public sealed class ConsumerLedgerProperties
{
    private abstract record Step
    {
        public sealed record Read(int Count) : Step;
        public sealed record Send : Step;
        public sealed record AckOne(int Pick) : Step;
        public sealed record NakOne(int Pick, int DelayMillis) : Step;
        public sealed record Wait(int Millis) : Step;
        public sealed record StopMember(int Member) : Step;
        public sealed record Restart : Step;
    }

    private static readonly Gen<Step> Steps = Gen.Frequency(
        (3, Gen.Int[1, 5].Select(n => (Step)new Step.Read(n))),
        (4, Gen.Const((Step)new Step.Send())),
        (4, Gen.Int[0, 1000].Select(p => (Step)new Step.AckOne(p))),
        (1, Gen.Select(Gen.Int[0, 1000], Gen.Int[0, 3000]).Select((p, d) => (Step)new Step.NakOne(p, d))),
        (2, Gen.Int[0, 40_000].Select(ms => (Step)new Step.Wait(ms))),
        (1, Gen.Int[0, 2].Select(m => (Step)new Step.StopMember(m))),
        (1, Gen.Const((Step)new Step.Restart())));

    private static readonly Gen<ConsumerLimits> Limits = Gen.Select(Gen.Int[1, 6], Gen.Int[1, 4])
        .Select((maxAckPending, maxDeliver) => new ConsumerLimits(maxAckPending, TimeSpan.FromSeconds(30), maxDeliver));

    private static readonly string[] Members = ["m0", "m1", "m2"];

    [Fact]
    public void The_ledger_keeps_every_promise_of_a_durable_consumer_across_random_runs_and_restarts()
    {
        Gen.Select(Limits, Gen.Long[0, 5], Steps.Array[0, 80]).Sample((limits, startAfter, steps) =>
        {
            var run = new Run(limits, startAfter);
            foreach (var step in steps)
                run.Do(step);
            run.Drain();
        }, iter: 3_000);
    }

    [Fact]
    public void With_MaxAckPending_1_messages_go_out_one_at_a_time_in_order_and_a_redelivery_comes_before_the_next()
    {
        var ledger = new ConsumerLedger(new ConsumerLimits(1, TimeSpan.FromSeconds(30), 5));
        for (var s = 1L; s <= 3; s++)
            ledger.Offer(s);
        Assert.Equal([new Dispatch(1, "m", 1)], ledger.Dispatch(0, () => "m"));
        Assert.Empty(ledger.Dispatch(0, () => "m"));
        Assert.Empty(ledger.Expire(30_000));
        Assert.Equal([new Dispatch(1, "m", 2)], ledger.Dispatch(30_000, () => "m"));
        Assert.True(ledger.Done(1));
        Assert.Equal([new Dispatch(2, "m", 1)], ledger.Dispatch(30_000, () => "m"));
        Assert.Equal(1, ledger.AckFloor);
        Assert.Equal(1, ledger.Redelivered);
    }

    [Fact]
    public void A_message_out_of_attempts_is_handed_back_for_dead_lettering_and_the_floor_moves_once_it_is_done()
    {
        var ledger = new ConsumerLedger(new ConsumerLimits(10, TimeSpan.FromSeconds(1), 2));
        ledger.Offer(1);
        ledger.Offer(2);
        Assert.Equal(2, ledger.Dispatch(0, () => "m").Count);
        Assert.True(ledger.Done(2));
        Assert.Empty(ledger.Expire(1_000));
        Assert.Equal([new Dispatch(1, "m", 2)], ledger.Dispatch(1_000, () => "m"));
        Assert.Equal([1L], ledger.Expire(2_000));
        Assert.Equal(0, ledger.Pending);
        Assert.Empty(ledger.Dispatch(2_000, () => "m"));
        Assert.Equal(0, ledger.AckFloor);
        Assert.True(ledger.Done(1));
        Assert.Equal(2, ledger.AckFloor);
    }

    [Fact]
    public void A_member_that_stops_has_its_messages_sent_to_the_others_at_once_as_another_attempt()
    {
        var ledger = new ConsumerLedger(new ConsumerLimits(10, TimeSpan.FromSeconds(30), 5));
        ledger.Offer(1);
        ledger.Offer(2);
        var next = 0;
        Assert.Equal([new Dispatch(1, "a", 1), new Dispatch(2, "b", 1)], ledger.Dispatch(0, () => next++ % 2 == 0 ? "a" : "b"));
        Assert.Empty(ledger.MemberStopped("a", 5));
        Assert.Equal([new Dispatch(1, "b", 2)], ledger.Dispatch(5, () => "b"));
    }

    /// <summary>A run: the ledger, the durable facts written so far, and the model of what must hold.</summary>
    private sealed class Run
    {
        private readonly ConsumerLimits _limits;
        private readonly long _startAfter;
        private readonly List<(long SequenceNr, int Attempt)> _attemptsRecorded = [];
        private readonly SortedSet<long> _done = [];
        private readonly HashSet<long> _deadLettered = [];
        private readonly Dictionary<long, int> _lastAttempt = [];
        private readonly Dictionary<long, string> _out = [];
        private readonly HashSet<string> _stopped = [];
        private ConsumerLedger _ledger = null!;
        private long _now;
        private long _logEnd;
        private int _nextMember;

        public Run(ConsumerLimits limits, long startAfter)
        {
            _limits = limits;
            _startAfter = startAfter;
            _logEnd = startAfter;
            Recover();
        }

        private void Recover()
        {
            var ledger = new ConsumerLedger(_limits);
            ledger.Start(_startAfter);
            foreach (var (sequenceNr, attempt) in _attemptsRecorded)
                ledger.Attempted(sequenceNr, attempt);
            foreach (var sequenceNr in _done)
                ledger.Done(sequenceNr);
            // The consumer actor reads the log again from the floor, then dead-letters what had all its attempts.
            for (var s = ledger.AckFloor + 1; s <= _logEnd; s++)
                ledger.Offer(s);
            _out.Clear();
            _ledger = ledger;
            foreach (var exhausted in ledger.TakeExhausted())
                DeadLetter(exhausted);
        }

        public void Do(Step step)
        {
            switch (step)
            {
                case Step.Read read:
                    for (var i = 0; i < read.Count && _ledger.WantsMore; i++)
                        _ledger.Offer(++_logEnd);
                    break;
                case Step.Send:
                    Send();
                    break;
                case Step.AckOne ack when _out.Count > 0:
                    var acked = _out.Keys.OrderBy(s => s).ElementAt(ack.Pick % _out.Count);
                    MarkDone(acked);
                    Assert.False(_ledger.Done(acked), "a repeated ack changes nothing");
                    break;
                case Step.AckOne ack when _logEnd > _startAfter:
                    // An ack of a message not out: done all the same (a late ack of an earlier delivery).
                    MarkDone(_startAfter + 1 + ack.Pick % (_logEnd - _startAfter));
                    break;
                case Step.NakOne nak when _out.Count > 0:
                    var naked = _out.Keys.OrderBy(s => s).ElementAt(nak.Pick % _out.Count);
                    Assert.True(_ledger.Nak(naked, _now + nak.DelayMillis, out var exhausted));
                    _out.Remove(naked);
                    if (exhausted)
                        DeadLetter(naked);
                    break;
                case Step.Wait wait:
                    _now += wait.Millis;
                    foreach (var expired in _ledger.Expire(_now))
                        DeadLetter(expired);
                    foreach (var gone in _out.Where(o => !_ledger.IsPending(o.Key)).Select(o => o.Key).ToList())
                        _out.Remove(gone);
                    break;
                case Step.StopMember stop:
                    var member = Members[stop.Member];
                    _stopped.Add(member);
                    foreach (var exhaustedByStop in _ledger.MemberStopped(member, _now))
                        DeadLetter(exhaustedByStop);
                    foreach (var gone in _out.Where(o => o.Value == member).Select(o => o.Key).ToList())
                    {
                        Assert.False(_ledger.IsPending(gone), "a stopped member's message is not out any more");
                        _out.Remove(gone);
                    }
                    if (_stopped.Count == Members.Length)
                        _stopped.Clear();
                    break;
                case Step.Restart:
                    Recover();
                    break;
            }
            Check();
        }

        private void Send()
        {
            string? Choose()
            {
                for (var i = 0; i < Members.Length; i++)
                {
                    var member = Members[_nextMember++ % Members.Length];
                    if (!_stopped.Contains(member))
                        return member;
                }
                return null;
            }

            var previous = -1L;
            foreach (var dispatch in _ledger.Dispatch(_now, Choose))
            {
                Assert.False(_done.Contains(dispatch.SequenceNr) || dispatch.SequenceNr <= _startAfter, $"{dispatch.SequenceNr} is done and was sent again");
                Assert.False(_out.ContainsKey(dispatch.SequenceNr), $"{dispatch.SequenceNr} was out twice");
                Assert.True(dispatch.SequenceNr > previous, "a dispatch sends oldest first");
                Assert.True(dispatch.SequenceNr <= _logEnd, "only what was read is sent");
                previous = dispatch.SequenceNr;
                var expectedAttempt = _lastAttempt.GetValueOrDefault(dispatch.SequenceNr) + 1;
                Assert.True(dispatch.Attempt >= 1 && dispatch.Attempt <= _limits.MaxDeliver, $"attempt {dispatch.Attempt} past MaxDeliver {_limits.MaxDeliver}");
                // Attempts made before a restart and never recorded are not known: the attempt may restart lower,
                // never higher than one past the last.
                Assert.True(dispatch.Attempt <= expectedAttempt, $"attempt of {dispatch.SequenceNr} jumped to {dispatch.Attempt}");
                _lastAttempt[dispatch.SequenceNr] = dispatch.Attempt;
                if (dispatch.Attempt > 1)
                    _attemptsRecorded.Add((dispatch.SequenceNr, dispatch.Attempt));
                _out[dispatch.SequenceNr] = dispatch.Member;
            }
        }

        private void MarkDone(long sequenceNr)
        {
            var wasDone = _done.Contains(sequenceNr) || sequenceNr <= _startAfter;
            Assert.Equal(!wasDone, _ledger.Done(sequenceNr));
            if (sequenceNr > _startAfter)
                _done.Add(sequenceNr);
            _out.Remove(sequenceNr);
        }

        private void DeadLetter(long sequenceNr)
        {
            Assert.True(_lastAttempt.GetValueOrDefault(sequenceNr) >= _limits.MaxDeliver || _attemptsRecorded.Any(a => a.SequenceNr == sequenceNr && a.Attempt >= _limits.MaxDeliver),
                $"{sequenceNr} dead-lettered before MaxDeliver attempts");
            Assert.True(_deadLettered.Add(sequenceNr), $"{sequenceNr} dead-lettered twice");
            _out.Remove(sequenceNr);
            MarkDone(sequenceNr);
        }

        private void Check()
        {
            var floor = _startAfter;
            while (_done.Contains(floor + 1))
                floor++;
            Assert.Equal(floor, _ledger.AckFloor);
            Assert.Equal(_out.Count, _ledger.Pending);
            Assert.True(_ledger.Pending <= _limits.MaxAckPending, "more out than MaxAckPending");
            Assert.All(_out.Keys, s => Assert.True(_ledger.IsPending(s)));
        }

        /// <summary>Members ack everything they get until nothing is left: every message read is acked or dead-lettered.</summary>
        public void Drain()
        {
            _stopped.Clear();
            for (var round = 0; round < 10_000 && _ledger.AckFloor < _logEnd; round++)
            {
                _now += 60_000;
                foreach (var expired in _ledger.Expire(_now))
                    DeadLetter(expired);
                _out.Clear();
                Send();
                foreach (var sequenceNr in _out.Keys.ToList())
                    MarkDone(sequenceNr);
                Check();
            }
            Assert.Equal(_logEnd, _ledger.AckFloor);
            Assert.Equal(0, _ledger.Pending);
            Assert.Null(_ledger.NextDueMillis());
        }
    }
}
