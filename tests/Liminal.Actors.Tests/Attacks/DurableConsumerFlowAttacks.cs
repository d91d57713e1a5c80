using System.Text;
using Akka.Actor;
using Liminal.Actors.Channels;
using Liminal.Actors.Tests.TestSupport;
using Xunit.Abstractions;
using MessageEnvelope = Liminal.Actors.Channels.MessageEnvelope;

namespace Liminal.Actors.Tests.Attacks;

/// <summary>
/// The second attack on durable consumers (SPEC §2.6, issue 15): a <c>DeliverFrom.New</c> subscribe racing with
/// publishes, and members joining and leaving a group mid-stream.
/// </summary>
public sealed class DurableConsumerFlowAttacks(ITestOutputHelper output) : LiminalTestKit
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);

    private LiminalSettings Settings(int partitions) =>
        DefaultSettings with { Channels = [new ChannelDefinition("orders", Durable: true, Partitions: partitions)] };

    private static Publish Order(int n) =>
        new("orders", new MessageEnvelope(Encoding.UTF8.GetBytes($"{{\"n\":{n}}}"), "shop")) { PartitionKey = $"k{n}" };

    /// <summary>Publishes <paramref name="count"/> orders a window at a time (a flood beyond the partition's bound is refused).</summary>
    private List<PublishAck> PublishAll(LiminalBus bus, int first, int count)
    {
        var acks = new List<PublishAck>();
        var publisher = CreateTestProbe();
        for (var start = first; start < first + count; start += 1000)
        {
            var window = Math.Min(1000, first + count - start);
            for (var n = start; n < start + window; n++)
                bus.Channels.Tell(Order(n), publisher.Ref);
            acks.AddRange(publisher.ReceiveN(window, Patience).Select(reply => Assert.IsType<PublishAck>(reply)));
        }
        return acks;
    }

    // ---- DeliverFrom.New racing with publishes ---------------------------------------------------------------------

    [Fact]
    public void DeliverFrom_New_subscribed_while_publishes_are_in_flight_skips_nothing_stored_after_its_answer_and_a_restart_replays_nothing_older()
    {
        var bus = LiminalBus.Start(Sys, Settings(2));
        var options = new ConsumerOptions { DeliverFrom = new DeliverFrom.New(), MaxAckPending = 10_000 };
        var publisher = CreateTestProbe();
        for (var n = 0; n < 1000; n++)
            bus.Channels.Tell(Order(n), publisher.Ref);
        // Subscribed while the rest of the first 1,000 are being stored.
        var acks = publisher.ReceiveN(300, Patience).Select(reply => Assert.IsType<PublishAck>(reply)).ToList();
        var member = CreateTestProbe();
        var subscriber = CreateTestProbe();
        bus.Channels.Tell(new SubscribeDurable("orders", "billing", member.Ref, options), subscriber.Ref);
        subscriber.ExpectMsg<ConsumerSubscribed>(Patience);
        for (var n = 1000; n < 1500; n++)
            bus.Channels.Tell(Order(n), publisher.Ref);
        acks.AddRange(publisher.ReceiveN(1200, Patience).Select(reply => Assert.IsType<PublishAck>(reply)));
        var sentAfterAnswer = acks.Skip(1000).Select(a => (a.Partition, a.SequenceNr!.Value)).ToHashSet();
        var last = acks.GroupBy(a => a.Partition).ToDictionary(g => g.Key, g => g.Max(a => a.SequenceNr!.Value));

        var delivered = ReceiveUntilLast(member, last);
        Assert.Subset(delivered, sentAfterAnswer);
        AssertContiguousToLast(delivered, last);
        output.WriteLine($"{delivered.Count} delivered, from {string.Join(", ", delivered.GroupBy(d => d.Partition).OrderBy(g => g.Key).Select(g => $"{g.Key}:{g.Min(d => d.SequenceNr)}"))}");

        // Nothing acked: after a restart the consumer starts where it started, not at the log's start nor at its end.
        Shutdown(Sys);
        var restarted = StartSystemOnSameDatabase();
        try
        {
            var recovered = LiminalBus.Start(restarted, Settings(2));
            var again = CreateTestProbe(restarted);
            recovered.Channels.Tell(new SubscribeDurable("orders", "billing", again.Ref, options), again.Ref);
            again.FishForMessage(m => m is ConsumerSubscribed, Patience);
            var redelivered = ReceiveUntilLast(again, last);
            Assert.Equal(delivered.Order(), redelivered.Order());
        }
        finally
        {
            Shutdown(restarted);
        }
    }

    /// <summary>Deliveries until the last message of each partition arrived (a single member gets a partition in order).</summary>
    private static HashSet<(int Partition, long SequenceNr)> ReceiveUntilLast(Akka.TestKit.TestProbe member, Dictionary<int, long> last)
    {
        var delivered = new HashSet<(int Partition, long SequenceNr)>();
        var missing = last.ToHashSet();
        while (missing.Count > 0)
        {
            if (member.ReceiveOne(Patience) is not Delivery delivery)
                continue;
            Assert.True(delivered.Add((delivery.Partition, delivery.SequenceNr!.Value)), $"partition {delivery.Partition} message {delivery.SequenceNr} delivered twice");
            missing.Remove(new KeyValuePair<int, long>(delivery.Partition, delivery.SequenceNr!.Value));
        }
        return delivered;
    }

    private static void AssertContiguousToLast(HashSet<(int Partition, long SequenceNr)> delivered, Dictionary<int, long> last)
    {
        foreach (var (partition, lastSequenceNr) in last)
        {
            var mine = delivered.Where(d => d.Partition == partition).Select(d => d.SequenceNr).Order().ToList();
            Assert.Equal(Enumerable.Range((int)mine[0], (int)(lastSequenceNr - mine[0] + 1)).Select(s => (long)s), mine);
        }
    }

    // ---- members joining and leaving mid-stream --------------------------------------------------------------------

    private sealed record Got(string Member, int Partition, long SequenceNr, int Attempt);

    private sealed record Acking(string Member, int Partition, long SequenceNr);

    private sealed record Leaving(string Member, (int Partition, long SequenceNr)[] Held);

    private sealed record Released(string Member);

    private sealed class Release
    {
        public static readonly Release Instance = new();
    }

    private sealed class Leave
    {
        public static readonly Leave Instance = new();
    }

    /// <summary>Holds what it is given until released (then acks each to the delivery's sender), reporting all to the test.</summary>
    private sealed class HoldingMember : ReceiveActor
    {
        public HoldingMember(IActorRef report)
        {
            var held = new List<(IActorRef From, Delivery Delivery)>();
            Receive<Delivery>(delivery =>
            {
                report.Tell(new Got(Self.Path.Name, delivery.Partition, delivery.SequenceNr!.Value, delivery.Attempt));
                held.Add((Sender, delivery));
            });
            Receive<Release>(_ =>
            {
                // Reported before the ack is sent: the test's count of what is out never runs ahead of the bus's.
                foreach (var (from, delivery) in held)
                {
                    report.Tell(new Acking(Self.Path.Name, delivery.Partition, delivery.SequenceNr!.Value));
                    from.Tell(new Ack(delivery.Channel, delivery.Consumer!, delivery.Partition, delivery.SequenceNr!.Value));
                }
                held.Clear();
                report.Tell(new Released(Self.Path.Name));
            });
            // Its acks are counted as sent; that they were durable shows in the consumer's floor.
            Receive<Acked>(_ => { });
            Receive<Leave>(_ =>
            {
                report.Tell(new Leaving(Self.Path.Name, [.. held.Select(h => (h.Delivery.Partition, h.Delivery.SequenceNr!.Value))]));
                Context.Stop(Self);
            });
        }
    }

    [Fact]
    public void Members_joining_and_leaving_mid_stream_never_have_more_than_MaxAckPending_out_per_partition_and_every_message_is_acked_once()
    {
        const int MaxAckPending = 3;
        const int Messages = 300;
        var seed = Environment.GetEnvironmentVariable("LIMINAL_ATTACK_SEED") is { } s ? int.Parse(s, System.Globalization.CultureInfo.InvariantCulture) : Random.Shared.Next();
        output.WriteLine($"seed {seed} (LIMINAL_ATTACK_SEED replays it)");
        var random = new Random(seed);
        var bus = LiminalBus.Start(Sys, Settings(2));
        var total = PublishAll(bus, 0, Messages).GroupBy(a => a.Partition).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(2, total.Count);

        var report = CreateTestProbe();
        var members = new List<IActorRef>();
        var joined = 0;
        void Join()
        {
            var member = Sys.ActorOf(Props.Create(() => new HoldingMember(report.Ref)), $"member-{joined++}");
            Ask<ConsumerSubscribed>(bus.Channels, new SubscribeDurable("orders", "billing", member, new ConsumerOptions { MaxAckPending = MaxAckPending }));
            members.Add(member);
        }

        var outstanding = new Dictionary<(int Partition, long SequenceNr), string>();
        var ackSent = new Dictionary<int, int> { [0] = 0, [1] = 0 };
        var acked = new Dictionary<(int Partition, long SequenceNr), int>();
        var leftBehind = new Dictionary<(int Partition, long SequenceNr), string>();
        var mostOut = new Dictionary<int, int> { [0] = 0, [1] = 0 };
        var handedOver = 0;
        void Apply(object message)
        {
            switch (message)
            {
                case Got got:
                    var key = (got.Partition, got.SequenceNr);
                    Assert.False(outstanding.TryGetValue(key, out var holder), $"partition {got.Partition} message {got.SequenceNr} out to {holder} and {got.Member} at once");
                    Assert.False(acked.ContainsKey(key), $"partition {got.Partition} message {got.SequenceNr} delivered to {got.Member} after it was acked");
                    if (leftBehind.Remove(key, out var leaver))
                    {
                        Assert.NotEqual(leaver, got.Member);
                        Assert.True(got.Attempt >= 2, $"a message handed over from {leaver} came as attempt {got.Attempt}");
                        handedOver++;
                    }
                    outstanding[key] = got.Member;
                    var out_ = outstanding.Keys.Count(k => k.Partition == got.Partition);
                    mostOut[got.Partition] = Math.Max(mostOut[got.Partition], out_);
                    Assert.True(out_ <= MaxAckPending, $"{out_} messages of partition {got.Partition} out at once (MaxAckPending {MaxAckPending})");
                    break;
                case Acking acking:
                    Assert.True(outstanding.Remove((acking.Partition, acking.SequenceNr)));
                    ackSent[acking.Partition]++;
                    acked[(acking.Partition, acking.SequenceNr)] = acked.GetValueOrDefault((acking.Partition, acking.SequenceNr)) + 1;
                    break;
                case Leaving leaving:
                    foreach (var held in leaving.Held)
                    {
                        outstanding.Remove(held);
                        leftBehind[held] = leaving.Member;
                    }
                    break;
            }
        }
        // The bus hands out whatever it may: each partition has MaxAckPending out, or everything not acked.
        bool Full() => total.All(p => outstanding.Keys.Count(k => k.Partition == p.Key) == Math.Min(MaxAckPending, p.Value - ackSent[p.Key]));
        object Next() => report.ReceiveOne(Patience) ?? throw new TimeoutException($"nothing more reported: {outstanding.Count} out, {ackSent.Values.Sum()} acked");
        // An action is taken in once its members reported it: what is out is then what the bus has out, or less.
        void AwaitReports(Func<object, bool> last, int count)
        {
            while (count > 0)
            {
                var message = Next();
                Apply(message);
                if (last(message))
                    count--;
            }
        }

        Join();
        var rounds = 0;
        while (ackSent.Values.Sum() < Messages)
        {
            while (!Full())
                Apply(Next());
            rounds++;
            var action = random.Next(10);
            if (action < 2 && members.Count < 4)
                Join();
            else if (action < 4 && members.Count > 1)
            {
                var leaving = members[random.Next(members.Count)];
                members.Remove(leaving);
                leaving.Tell(Leave.Instance);
                AwaitReports(m => m is Leaving, 1);
                continue;
            }
            var released = members.Where(_ => random.Next(2) == 0).DefaultIfEmpty(members[random.Next(members.Count)]).ToList();
            foreach (var member in released)
                member.Tell(Release.Instance);
            AwaitReports(m => m is Released, released.Count);
        }

        output.WriteLine($"{rounds} rounds, {joined} members in all, {handedOver} messages handed over from a member that left, most out at once {mostOut[0]} and {mostOut[1]}");
        Assert.Equal(Messages, acked.Count);
        Assert.All(acked.Values, count => Assert.Equal(1, count));
        Assert.Empty(leftBehind);
        AwaitAssert(() => Assert.All(Ask<ConsumerInfo>(bus.Channels, new GetConsumerInfo("orders", "billing")).Partitions,
            p => Assert.Equal((total[p.Partition], (long)total[p.Partition], 0), ((int)p.AckFloor, p.LastSequenceNr, p.Pending))));
    }
}
