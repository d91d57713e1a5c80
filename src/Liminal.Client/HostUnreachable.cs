using Akka.Actor;
using Liminal.Actors.Channels;
using Liminal.Actors.Conversations;
using Liminal.Actors.Dedup;
using Liminal.Actors.Offsets;

namespace Liminal.Client;

/// <summary>
/// The answer to a request while the host is unreachable: each family's typed "retry later" rejection, the one the bus
/// itself gives when it cannot take a request now, so a caller handles an outage like an overload.
/// </summary>
internal static class HostUnreachable
{
    public static object Rejection(object request) => request switch
    {
        Publish publish => new PublishRejected(publish.Channel ?? string.Empty, PublishFailure.Overloaded, LiminalClient.BusUnreachable),
        RedriveDeadLetter redrive => new PublishRejected(redrive.DeadLetterChannel ?? string.Empty, PublishFailure.Overloaded, LiminalClient.BusUnreachable),
        IConsumerSettlement settlement => AckRejected.For(settlement, LiminalClient.BusUnreachable),
        Subscribe subscribe => Channel(subscribe.Channel),
        Unsubscribe unsubscribe => Channel(unsubscribe.Channel),
        Replay replay => Channel(replay.Channel),
        CreateChannel create => Channel(create.Definition?.Name),
        SubscribeDurable subscribe => Channel(subscribe.Channel),
        GetConsumerInfo info => Channel(info.Channel),
        DeleteConsumer delete => Channel(delete.Channel),
        PurgeChannel purge => Channel(purge.Channel),
        GetChannels => Channel(null),
        IDedupKeyCommand command => new DedupRejected(command.Key ?? string.Empty, DedupRejection.Overloaded) { Detail = LiminalClient.BusUnreachable },
        SweepExpired => new SweepFailed(LiminalClient.BusUnreachable),
        IConversationCommand command => new ConversationRejected(
            command.ConversationId ?? string.Empty, IConversationCommand.MessageIdOf(command) ?? string.Empty, ConversationRejections.Overloaded)
        {
            Detail = LiminalClient.BusUnreachable,
        },
        IOffsetsCommand command => new OffsetRequestRejected(command.Owner ?? string.Empty, LiminalClient.BusUnreachable),
        // A request without a rejection record of its own still gets an answer: an Ask fails at once instead of timing out.
        _ => new Status.Failure(new BusUnreachableException(LiminalClient.BusUnreachable)),
    };

    private static ChannelRejected Channel(string? channel) => new(channel ?? string.Empty, LiminalClient.BusUnreachable);
}

/// <summary>The host could not be reached; the answer to a request that has no typed rejection of its own. Retry later.</summary>
public sealed class BusUnreachableException(string message) : Exception(message);
