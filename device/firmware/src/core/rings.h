// The buffers between interrupt handlers and the main loop: a byte ring for the
// UART (one producer, one consumer, lock-free on the AVR because its 8-bit index
// loads and stores are atomic), the receive side with overflow marking, and the
// queue of samples from the sampling interrupt, which counts what it had to drop
// so `seq` still counts every sample taken.
#ifndef KNOTMETER_RINGS_H
#define KNOTMETER_RINGS_H

#include <stdint.h>

#include "hardware.h"

namespace knotmeter {

// Keeps the compiler from moving buffer stores past the index store that
// publishes them to the other side.
inline void compilerBarrier() { __asm__ __volatile__("" ::: "memory"); }

// Size is a power of two up to 256; it holds Size - 1 bytes.
template <uint16_t Size>
class ByteRing {
 public:
  ByteRing() : head_(0), tail_(0) {}

  uint16_t used() const { return static_cast<uint8_t>(head_ - tail_) & kMask; }
  uint16_t free() const { return Size - 1 - used(); }
  bool empty() const { return head_ == tail_; }

  // Producer side: all of `bytes` or nothing.
  bool write(const char* bytes, uint8_t length) {
    if (length > free()) return false;
    uint8_t head = head_;
    for (uint8_t i = 0; i < length; i++) {
      buffer_[head] = static_cast<uint8_t>(bytes[i]);
      head = static_cast<uint8_t>((head + 1) & kMask);
    }
    compilerBarrier();
    head_ = head;
    return true;
  }
  bool push(uint8_t byte) {
    const char c = static_cast<char>(byte);
    return write(&c, 1);
  }

  // Consumer side; only when !empty().
  uint8_t pop() {
    const uint8_t tail = tail_;
    const uint8_t byte = buffer_[tail];
    compilerBarrier();
    tail_ = static_cast<uint8_t>((tail + 1) & kMask);
    return byte;
  }

 private:
  static const uint8_t kMask = static_cast<uint8_t>(Size - 1);
  uint8_t buffer_[Size];
  volatile uint8_t head_;
  volatile uint8_t tail_;
};

// The UART receive side. When the ring is full the interrupt drops bytes until
// the main loop has read everything before the loss, then read() reports
// kRxLost exactly where the stream has a hole.
template <uint16_t Size>
class RxRing {
 public:
  RxRing() : lost_(false) {}

  // Interrupt side.
  void push(uint8_t byte) {
    if (lost_) return;
    if (!ring_.push(byte)) lost_ = true;
  }
  void markLost() { lost_ = true; }  // the UART itself overran

  // Main-loop side: a byte, kRxLost or kRxEmpty.
  int16_t read() {
    if (!ring_.empty()) return ring_.pop();
    if (lost_) {
      lost_ = false;
      return kRxLost;
    }
    return kRxEmpty;
  }

 private:
  ByteRing<Size> ring_;
  volatile bool lost_;
};

struct Sample {
  uint32_t tUs;         // device clock when the sample was taken
  int32_t raw;          // sensor counts before tare (hx711: the last conversion read before the tick)
  uint16_t lostBefore;  // samples dropped just before this one (the queue was full)
};

// From the sampling interrupt to the main loop. On the AVR, pop() runs with
// interrupts disabled and push() inside the interrupt.
template <uint8_t Size>
class SampleQueue {
 public:
  SampleQueue() : head_(0), count_(0), lostPending_(0) {}

  bool push(uint32_t tUs, int32_t raw) {
    if (count_ == Size) {
      if (lostPending_ != 0xFFFF) lostPending_++;
      return false;
    }
    Sample& slot = samples_[(head_ + count_) % Size];
    slot.tUs = tUs;
    slot.raw = raw;
    slot.lostBefore = lostPending_;
    lostPending_ = 0;
    count_++;
    return true;
  }

  bool pop(Sample& sample) {
    if (count_ == 0) return false;
    sample = samples_[head_];
    head_ = static_cast<uint8_t>((head_ + 1) % Size);
    count_--;
    return true;
  }

 private:
  Sample samples_[Size];
  uint8_t head_;
  uint8_t count_;
  uint16_t lostPending_;
};

}  // namespace knotmeter

#endif
