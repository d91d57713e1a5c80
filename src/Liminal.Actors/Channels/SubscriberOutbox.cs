using Akka.Actor;

namespace Liminal.Actors.Channels;

/// <summary>
/// Stands between a channel and a bounded subscriber (<see cref="Subscribe.MaxUnacknowledged"/>): at most that many
/// unacknowledged deliveries are out at once, up to <see cref="Subscribe.BufferSize"/> wait, and the oldest waiting
/// ones are dropped beyond that, with a <see cref="DeliveriesDropped"/> notice before the next delivery.
/// </summary>
internal sealed class SubscriberOutbox : ReceiveActor
{
    private readonly IActorRef _subscriber;
    private readonly int _maxUnacknowledged;
    private readonly int _bufferSize;
    private readonly Queue<Delivery> _waiting = new();
    private readonly Dictionary<int, DeliveriesDropped> _dropped = new();
    private int _unacknowledged;

    public SubscriberOutbox(IActorRef subscriber, int maxUnacknowledged, int bufferSize)
    {
        _subscriber = subscriber;
        _maxUnacknowledged = Math.Max(1, maxUnacknowledged);
        _bufferSize = Math.Max(0, bufferSize);
        Receive<Delivery>(delivery =>
        {
            _waiting.Enqueue(delivery);
            SendWhatFits();
            while (_waiting.Count > _bufferSize)
                Drop(_waiting.Dequeue());
        });
        Receive<DeliveryAck>(_ =>
        {
            _unacknowledged = Math.Max(0, _unacknowledged - 1);
            SendWhatFits();
        });
    }

    public static Props Props(IActorRef subscriber, int maxUnacknowledged, int bufferSize) =>
        Akka.Actor.Props.Create(() => new SubscriberOutbox(subscriber, maxUnacknowledged, bufferSize));

    private void SendWhatFits()
    {
        while (_unacknowledged < _maxUnacknowledged && _waiting.TryDequeue(out var next))
        {
            if (_dropped.Remove(next.Partition, out var notice))
                _subscriber.Tell(notice, Self);
            _subscriber.Tell(next, Self);
            _unacknowledged++;
        }
    }

    private void Drop(Delivery delivery)
    {
        _dropped[delivery.Partition] = _dropped.TryGetValue(delivery.Partition, out var earlier)
            ? earlier with { ToSequenceNr = delivery.SequenceNr, Count = earlier.Count + 1 }
            : new DeliveriesDropped(delivery.Channel, delivery.Partition, delivery.SequenceNr, delivery.SequenceNr, 1);
    }
}
