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
