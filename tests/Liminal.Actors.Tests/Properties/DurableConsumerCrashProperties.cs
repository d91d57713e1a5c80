using System.Text;
using System.Text.Json;
using Akka.Actor;
using Akka.TestKit;
using CsCheck;
using Liminal.Actors.Channels;
using Liminal.Actors.Tests.TestSupport;
using Xunit.Abstractions;
using MessageEnvelope = Liminal.Actors.Channels.MessageEnvelope;

namespace Liminal.Actors.Tests.Properties;

/// <summary>What the member does with one delivery in a generated run.</summary>
public enum ConsumerAction { Ack, Nak, Term, Ignore }

/// <summary>
/// One run of the bus before a crash: <c>Publishes</c> messages sent without waiting, then one action per delivery
/// received; <c>WaitForAnswers</c> false crashes with the publishes and acks still in flight.
/// </summary>
public sealed record ConsumerRun(int Publishes, ConsumerAction[] Actions, bool WaitForAnswers);

/// <summary>
/// SPEC §2.6 across crashes, on SQLite on disk: for random schedules of publishes, acks, naks, terms and ignored
/// deliveries with the actor system crashed (no drain) between runs, (1) a message whose ack was answered
/// <c>Acked</c>, or whose term was answered <c>DeadLettered</c>, is never delivered again; (2) after a last run that
/// acks everything, the consumer's floor reaches the last stored message (nothing skipped); (3) the dead-letter channel
/// holds exactly one dead letter for each message answered <c>DeadLettered</c> and never two for one message.
/// </summary>
public sealed class DurableConsumerCrashProperties(ITestOutputHelper output) : LiminalTestKit(TestDatabase.NewPath(), CrashOnTerminate)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    // How long a run waits for a delivery before it takes it that none is coming (MaxAckPending is out, or all is done).
    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(1);

    private static readonly ConsumerOptions Options = new() { MaxAckPending = 4, AckWait = TimeSpan.FromHours(1), MaxDeliver = 1000 };

    private static int Iterations =>
        int.TryParse(Environment.GetEnvironmentVariable("LIMINAL_PROPERTY_ITERATIONS"), out var n) && n > 0 ? Math.Max(6, n / 20) : 6;

    private static readonly Gen<ConsumerRun[]> Scenarios =
        Gen.Select(Gen.Int[0, 8],
                Gen.Frequency((6, Gen.Const(ConsumerAction.Ack)), (2, Gen.Const(ConsumerAction.Nak)), (1, Gen.Const(ConsumerAction.Term)),
                    (1, Gen.Const(ConsumerAction.Ignore))).Array[0, 10],
                Gen.Bool,
                (publishes, actions, wait) => new ConsumerRun(publishes, actions, wait))
            .Array[1, 4];

    private int _run;
    private int _acked, _deliveries, _crashedInFlight;

    [Fact]
    public void An_answered_ack_or_term_is_never_undone_nothing_stored_is_skipped_and_each_dead_letter_is_stored_once_across_crashes()
    {
        Scenarios.Sample(Run, iter: Iterations, threads: 1, print: Print);
        output.WriteLine($"{_run} scenarios passed: {_deliveries} deliveries, {_acked} answered acks checked, {_crashedInFlight} crashes with requests in flight");
    }

    private void Run(ConsumerRun[] runs)
    {
        var channel = $"run{++_run}";
        var settings = DefaultSettings with { Channels = [new ChannelDefinition(channel, Durable: true, Partitions: 1)] };
        var settled = new HashSet<long>();   // answered Acked or DeadLettered: never to be delivered again
        var deadLettered = new HashSet<long>();
        var n = 0;
        foreach (var run in runs)
        {
            var system = StartSystemOnSameDatabase();
            try
            {
                var (bus, member) = Start(system, settings, channel);
                var publisher = CreateTestProbe(system);
                var replies = CreateTestProbe(system);
                for (var i = 0; i < run.Publishes; i++)
                    bus.Channels.Tell(new Publish(channel, new MessageEnvelope(Encoding.UTF8.GetBytes($"{{\"n\":{++n}}}"), "shop")), publisher.Ref);
                var sent = 0;
                foreach (var action in run.Actions)
                {
                    if (member.ReceiveOne(Quiet) is not Delivery delivery)
                        break;
                    var sequenceNr = Deliver(delivery, settled);
                    object? request = action switch
                    {
                        ConsumerAction.Ack => new Ack(channel, "c", 0, sequenceNr),
                        ConsumerAction.Nak => new Nak(channel, "c", 0, sequenceNr),
                        ConsumerAction.Term => new Term(channel, "c", 0, sequenceNr, "generated"),
                        _ => null,
                    };
                    if (request is null)
                        continue;
                    bus.Channels.Tell(request, replies.Ref);
                    sent++;
                }
                var answers = new List<object>();
                if (run.WaitForAnswers)
                {
                    answers.AddRange(replies.ReceiveN(sent, Patience));
                    Assert.All(publisher.ReceiveN(run.Publishes, Patience), ack => Assert.IsType<PublishAck>(ack));
                }
                else
                {
                    _crashedInFlight++;
                    while (replies.HasMessages)
                        answers.Add(replies.ReceiveOne(TimeSpan.Zero)!);
                }
                foreach (var answer in answers)
                {
                    Assert.True(answer is Acked or Redelivering or DeadLettered, $"unexpected answer {answer}");
                    if (answer is Acked acked && settled.Add(acked.SequenceNr))
                        _acked++;
                    if (answer is DeadLettered dead)
                    {
                        settled.Add(dead.SequenceNr);
                        deadLettered.Add(dead.SequenceNr);
                    }
                }
            }
            finally
            {
                Shutdown(system);   // CrashOnTerminate: no drain
            }
        }

        // A last run acks everything it is given, until the floor is at the last stored message.
        var last = StartSystemOnSameDatabase();
        try
        {
            var (bus, member) = Start(last, settings, channel);
            var replies = CreateTestProbe(last);
            ConsumerInfo info;
            while (true)
            {
                if (member.ReceiveOne(Quiet) is Delivery delivery)
                {
                    var sequenceNr = Deliver(delivery, settled);
                    bus.Channels.Tell(new Ack(channel, "c", 0, sequenceNr), replies.Ref);
                    var acked = replies.ExpectMsg<Acked>(Patience);
                    settled.Add(acked.SequenceNr);
                    continue;
                }
                bus.Channels.Tell(new GetConsumerInfo(channel, "c"), replies.Ref);
                info = replies.ExpectMsg<ConsumerInfo>(Patience);
                if (info.Partitions[0].Pending == 0)
                    break;
            }
            var partition = info.Partitions[0];
            Assert.Equal(partition.LastSequenceNr, partition.AckFloor);
            Assert.All(settled, s => Assert.InRange(s, 1, partition.LastSequenceNr));

            var deadLetters = this.ReadDeadLetterSources(last, bus, channel + ".dlq");
            Assert.Equal(deadLetters.Count, deadLetters.Distinct().Count());
            Assert.Subset(deadLetters.ToHashSet(), deadLettered);
        }
        finally
        {
            Shutdown(last);
        }
    }

    private (LiminalBus Bus, TestProbe Member) Start(ActorSystem system, LiminalSettings settings, string channel)
    {
        var bus = LiminalBus.Start(system, settings);
        var member = CreateTestProbe(system);
        var control = CreateTestProbe(system);
        bus.Channels.Tell(new SubscribeDurable(channel, "c", member.Ref, Options), control.Ref);
        control.ExpectMsg<ConsumerSubscribed>(Patience);
        return (bus, member);
    }

    private long Deliver(Delivery delivery, HashSet<long> settled)
    {
        _deliveries++;
        var sequenceNr = delivery.SequenceNr!.Value;
        Assert.False(settled.Contains(sequenceNr), $"message {sequenceNr} was delivered again (attempt {delivery.Attempt}) after its ack or term was answered");
        return sequenceNr;
    }

    private static string Print(ConsumerRun[] runs) =>
        string.Join("\n", runs.Select((r, i) =>
            $"  run {i + 1}: publish {r.Publishes}, then {string.Join(" ", r.Actions)}{(r.WaitForAnswers ? ", wait for the answers" : ", crash at once")}")) +
        $"\n  run {runs.Length + 1}: ack everything";
}

internal static class DeadLetterReading
{
    /// <summary>The source sequence numbers named by the dead letters stored in a dead-letter channel, in log order.</summary>
    public static List<long> ReadDeadLetterSources(this TestKitBase kit, ActorSystem system, LiminalBus bus, string deadLetterChannel)
    {
        var probe = kit.CreateTestProbe(system);
        bus.Channels.Tell(new Replay(deadLetterChannel, 0, 1, probe.Ref), probe.Ref);
        var sources = new List<long>();
        while (true)
        {
            var message = probe.ReceiveOne(TimeSpan.FromSeconds(30));
            switch (message)
            {
                case Delivery delivery:
                    sources.Add(JsonDocument.Parse(delivery.Envelope.Payload).RootElement.GetProperty("sequenceNr").GetInt64());
                    break;
                case ReplayCompleted:
                    return sources;
                default:
                    throw new Xunit.Sdk.XunitException($"unexpected reply to the replay of {deadLetterChannel}: {message}");
            }
        }
    }
}
