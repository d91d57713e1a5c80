using Akka.Actor;
using Liminal.Actors.Channels;
using Liminal.Actors.Tests.TestSupport;
using static Liminal.Actors.Tests.TestSupport.ChannelReading;

namespace Liminal.Actors.Tests.Attacks;

/// <summary>
/// SPEC §2.4 step 2 under a race: many publishers send the same keys at once, so most duplicates arrive while the
/// key's first write is still in flight. Each key must be stored once, and every answer must name that one message.
/// </summary>
public sealed class KeyedPublishAttacks : LiminalTestKit
{
    private const string Channel = "orders";
    private const int Partitions = 4;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Fifty_publishers_racing_on_the_same_twenty_keys_store_each_key_once_and_all_agree_on_where()
    {
        const int Publishers = 50;
        const int KeyCount = 20;
        var bus = LiminalBus.Start(Sys, DefaultSettings with { Channels = [new ChannelDefinition(Channel, Durable: true, Partitions: Partitions)] });
        var subscribers = Enumerable.Range(0, 3).Select(_ => CreateTestProbe()).ToArray();
        foreach (var subscriber in subscribers)
            Ask<Subscribed>(bus.Channels, new Subscribe(Channel, subscriber.Ref));
        var keys = Enumerable.Range(0, KeyCount).Select(k => $"key-{k}").ToArray();

        // Each publisher sends all twenty keys without waiting, starting at a key of its own: every key is in flight
        // from many publishers at once, interleaved with the others.
        var publishers = Enumerable.Range(0, Publishers).Select(p => Task.Run(async () =>
        {
            var order = Enumerable.Range(0, KeyCount).Select(j => keys[(p + j * 7) % KeyCount]).ToArray();
            var replies = await Task.WhenAll(order.Select(key => bus.Channels.Ask<object>(Keyed(Channel, key, n: p), Patience)));
            return order.Select((key, i) => (Publisher: p, Key: key, Reply: replies[i]));
        })).ToArray();
        var answers = (await Task.WhenAll(publishers)).SelectMany(a => a).ToList();

        Assert.All(answers, answer => Assert.IsType<PublishAck>(answer.Reply));
        var log = this.ReadAllLogs(Sys, bus.Channels, Channel, Partitions);
        Assert.Equal(keys.Order(), log.Select(KeyOf).Order());   // each key stored exactly once
        foreach (var key in keys)
        {
            var acks = answers.Where(a => a.Key == key).Select(a => (a.Publisher, Ack: (PublishAck)a.Reply)).ToList();
            var stored = log.Single(d => KeyOf(d) == key);
            Assert.Equal(Publishers, acks.Count);
            var elsewhere = acks.Where(a => (a.Ack.Partition, a.Ack.SequenceNr, a.Ack.InFlight) != (stored.Partition, stored.SequenceNr, false)).ToList();
            Assert.True(elsewhere.Count == 0,
                $"{key} is stored at {stored.Partition}/{stored.SequenceNr}, but {elsewhere.Count} of its {Publishers} answers say otherwise, e.g. {elsewhere.FirstOrDefault().Ack}");
            Assert.Single(acks.Select(a => Text(a.Ack.Receipt!)).Distinct());
            var (writer, written) = Assert.Single(acks, a => !a.Ack.Duplicate);
            Assert.All(acks.Where(a => a.Ack.Duplicate), a => Assert.Equal((false, 0), (a.Ack.Delivered, a.Ack.DeliveredCount)));
            // The stored message is the one whose publisher was told it was not a duplicate, and it reached everyone.
            Assert.Equal(writer, NumberOf(stored));
            Assert.Equal(subscribers.Length, written.DeliveredCount);
        }

        foreach (var delivered in this.DeliveredSoFar(Sys, bus.Channels, Channel, Partitions, subscribers))
            Assert.Equal(keys.Order(), delivered.Select(KeyOf).Order());
    }
}

/// <summary>
/// The same race while the partition's journal write fails (<see cref="Withholding"/> on SQLite on disk): the write
/// of the first key is held, hundreds of publishes of twenty keys queue behind it and wait for it, then it fails. Every
/// publish is answered exactly once, no two answers for a key disagree, and once every publisher has retried its
/// failures, each key is stored exactly once and delivered at most once.
/// </summary>
public sealed class KeyedPublishFailureAttacks() : LiminalTestKit(TestDatabase.NewPath(),
    Withholding.JournalConfig<WithholdingSqliteJournal>(TimeSpan.FromSeconds(60)))
{
    private const string Channel = "orders";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(WithheldOutcome.Failed)]
    [InlineData(WithheldOutcome.StoredThenFailed)]
    public async Task Publishers_racing_on_the_same_keys_through_a_failed_write_are_each_answered_once_and_each_key_is_stored_once(
        WithheldOutcome outcome)
    {
        const int Publishers = 20;
        const int KeyCount = 20;
        var bus = LiminalBus.Start(Sys, DefaultSettings with
        {
            Channels = [new ChannelDefinition(Channel, Durable: true)],
            Entities = DefaultSettings.Entities with { MinBackoff = TimeSpan.FromMilliseconds(50) },
        });
        var subscriber = CreateTestProbe();
        Ask<Subscribed>(bus.Channels, new Subscribe(Channel, subscriber.Ref));
        Assert.Equal(1, Ask<PublishAck>(bus.Channels, Keyed(Channel, "warm-up")).SequenceNr);
        Assert.Equal("warm-up", KeyOf(subscriber.ExpectMsg<Delivery>()));
        var keys = Enumerable.Range(0, KeyCount).Select(k => $"key-{k}").ToArray();

        var withheld = Withholding.Arm(Sys, ChannelPartition.PersistenceIdOf(Channel, 0), outcome);
        var first = CreateTestProbe();
        bus.Channels.Tell(Keyed(Channel, keys[0], n: 0), first.Ref);
        await withheld.Stored.Task.WaitAsync(Patience);
        // Every publisher sends every key (one probe per publish), interleaved, all while key-0's write is held.
        var publishes = new List<(string Key, long N, Akka.TestKit.TestProbe Probe)> { (keys[0], 0, first) };
        for (var p = 1; p <= Publishers; p++)
        {
            for (var j = 0; j < KeyCount; j++)
            {
                var key = keys[(p + j * 7) % KeyCount];
                var probe = CreateTestProbe();
                bus.Channels.Tell(Keyed(Channel, key, n: p), probe.Ref);
                publishes.Add((key, p, probe));
            }
        }
        Ask<Subscribed>(bus.Channels, new Subscribe(Channel, subscriber.Ref));   // every publish is routed to the partition
        withheld.Release.SetResult();

        var answers = publishes.Select(p => (p.Key, p.N, p.Probe, Reply: p.Probe.ExpectMsg<object>(Patience))).ToList();
        var unexpected = answers.Where(a => a.Reply is not (PublishAck or PublishRejected { Reason: PublishFailure.PersistFailed })).ToList();
        Assert.True(unexpected.Count == 0, $"{unexpected.Count} publishes answered neither an ack nor PersistFailed, e.g. {unexpected.FirstOrDefault().Reply}");
        Assert.IsType<PublishRejected>(answers[0].Reply);   // the held write itself
        // Publishers retry what failed, as SPEC §2.4 step 5 tells them to.
        var final = new List<(string Key, long N, PublishAck Ack)>();
        foreach (var (key, n, probe, reply) in answers)
        {
            var answer = reply;
            for (var attempt = 0; answer is PublishRejected && attempt < 5; attempt++)
            {
                bus.Channels.Tell(Keyed(Channel, key, n: n), probe.Ref);
                answer = probe.ExpectMsg<object>(Patience);
            }
            final.Add((key, n, Assert.IsType<PublishAck>(answer)));
        }

        var log = this.ReadLog(Sys, bus.Channels, Channel, 0);
        Assert.Equal(keys.Append("warm-up").Order(), log.Select(d => KeyOf(d)!).Order());   // each key stored exactly once
        foreach (var key in keys)
        {
            var stored = log.Single(d => KeyOf(d) == key);
            var acks = final.Where(f => f.Key == key).ToList();
            var elsewhere = acks.Where(a => (a.Ack.Partition, a.Ack.SequenceNr, a.Ack.InFlight) != (stored.Partition, stored.SequenceNr, false)).ToList();
            Assert.True(elsewhere.Count == 0, $"{key} is stored at {stored.SequenceNr}, but {elsewhere.Count} answers say otherwise, e.g. {elsewhere.FirstOrDefault().Ack}");
            Assert.Single(acks.Select(a => Text(a.Ack.Receipt!)).Distinct());
            Assert.True(acks.Count(a => !a.Ack.Duplicate) <= 1, $"{key}: {acks.Count(a => !a.Ack.Duplicate)} publishes were told they stored it");
            if (acks.SingleOrDefault(a => !a.Ack.Duplicate) is { Ack: not null } writer)
                Assert.Equal(writer.N, NumberOf(stored));
        }
        var delivered = this.DeliveredSoFar(Sys, bus.Channels, Channel, 1, subscriber).Single().Select(d => KeyOf(d)!).ToList();
        Assert.Equal(delivered.Distinct().Order(), delivered.Order());   // nothing delivered twice
        if (outcome == WithheldOutcome.Failed)
            Assert.Equal(keys.Order(), delivered.Order());   // nothing was stored by the failed write: all are delivered now
        // Exactly one answer per publish: nothing more arrived for any of them.
        Assert.All(publishes, p => Assert.False(p.Probe.HasMessages, $"a publish of {p.Key} got a second answer"));
    }
}
