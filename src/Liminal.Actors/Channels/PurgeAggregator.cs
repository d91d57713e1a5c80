using Akka.Actor;

namespace Liminal.Actors.Channels;

/// <summary>
/// Answers a <see cref="PurgeChannel"/> with one <see cref="ChannelPurged"/> once every partition has deleted its
/// messages, or with the first partition's <see cref="ChannelRejected"/>.
/// </summary>
internal sealed class PurgeAggregator : ReceiveActor
{
    public PurgeAggregator(IActorRef requester, string channel, int partitions)
    {
        var firstRetained = new long[partitions];
        var remaining = partitions;
        Receive<PartitionPurged>(purged =>
        {
            firstRetained[purged.Partition] = purged.FirstRetained;
            if (--remaining > 0)
                return;
            requester.Tell(new ChannelPurged(channel, firstRetained));
            Context.Stop(Self);
        });
        Receive<ChannelRejected>(rejected =>
        {
            requester.Tell(rejected);
            Context.Stop(Self);
        });
    }

    public static Props Props(IActorRef requester, string channel, int partitions) =>
        Akka.Actor.Props.Create(() => new PurgeAggregator(requester, channel, partitions));
}
