package org.yuanrong;

import java.util.ArrayList;
import java.util.List;

/** One {@link GetParam} per key of {@code YR.kv().getWithParam}. */
public class GetParams {
    private List<GetParam> getParams = new ArrayList<>();

    public GetParams() {
    }

    public GetParams(List<GetParam> getParams) {
        this.getParams = getParams;
    }

    public List<GetParam> getGetParams() {
        return getParams;
    }

    public void setGetParams(List<GetParam> getParams) {
        this.getParams = getParams;
    }
}
