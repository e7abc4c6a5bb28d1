// A C++ class whose methods misbehave on request: the object-service tests' kernel.
#pragma once

namespace fragile {

class Counter {
public:
    explicit Counter(int start) : n_(start) {}
    int bump(int by) { return n_ += by; }
    int value() const { return n_; }
    // A method whose argument is another object: it cannot travel over SOAP, so it is not served.
    void absorb(const Counter &other) { n_ += other.n_; }
    // Dereferences a null pointer: the process holding the object dies.
    int crash(int code) {
        volatile int *p = nullptr;
        *p = code;
        return *p;
    }

private:
    int n_;
};

}  // namespace fragile
