using Liminal.Actors.Channels;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.Attacks;

/// <summary>
/// A failing entity answers what it owes and stops; its parent restarts it with backoff. A sender told of the failure
/// retries at once. On f8113fc the parent learned of the stop only from a dead letter or <c>Terminated</c>, so such a
/// retry often reached the dying entity and was refused <c>Overloaded</c> (the timeout specs failed about half of the
/// runs for it). The entity now tells its parent it is stopping before it answers anyone: the retry waits for the
/// next incarnation.
/// </summary>
public sealed class FailingEntityAttacks : FaultInjectionTestKit
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private static Publish Keyed(string key) => new("orders", new MessageEnvelope("{}"u8.ToArray(), "shop"), key);

    [Fact]
    public async Task A_retry_sent_the_moment_its_publish_failed_waits_for_the_restarted_partition_and_is_stored_once()
    {
        var bus = LiminalBus.Start(Sys, DefaultSettings with { Channels = [new ChannelDefinition("orders", Durable: true)] });
        Ask<PublishAck>(bus.Channels, Keyed("warm-up"));
        var gated = new GatedFirstWrite(p => p is MessageAppended, reject: false);
        await Journal.OnWrite.SetInterceptorAsync(gated);

        var duplicate = CreateTestProbe();
        bus.Channels.Tell(Keyed("k1"), TestActor);
        await gated.Held.Task.WaitAsync(Patience);
        bus.Channels.Tell(Keyed("k1"), duplicate.Ref);   // waits for the write of its key
        Assert.True(Ask<PublishAck>(bus.Channels, Keyed("warm-up")).Duplicate);   // behind it: the duplicate is waiting
        gated.Gate.SetResult();   // the connection drops: outcome unknown, the partition stops

        // The duplicate that waited is answered with the write's failure, and retries at once. The test journal threw
        // before storing the write: the retry stores it, in the partition's next incarnation.
        Assert.Equal(PublishFailure.PersistFailed, duplicate.ExpectMsg<PublishRejected>(Patience).Reason);
        bus.Channels.Tell(Keyed("k1"), duplicate.Ref);
        var retry = duplicate.ExpectMsg<object>(Patience);
        Assert.True(retry is PublishAck { Duplicate: false, SequenceNr: not null }, $"expected the retry to be stored, got {retry}");
        // The original publisher's own failure, and its retry: the message stored once.
        Assert.Equal(PublishFailure.PersistFailed, ExpectMsg<PublishRejected>(Patience).Reason);
        var again = Ask<PublishAck>(bus.Channels, Keyed("k1"));
        Assert.Equal((true, ((PublishAck)retry).SequenceNr), (again.Duplicate, again.SequenceNr));
    }
}
